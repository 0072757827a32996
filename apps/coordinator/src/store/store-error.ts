/** A store operation that found the data not as it must be (a missing row, a schema from a newer coordinator). */
export class StoreError extends Error {
  override readonly name = 'StoreError';
}
