/**
 * Which files are images: the one extension list of the project, for the hospital page's folder picker and for the
 * Node folder scanner alike. It holds the formats every platform of the encoder decodes (the browser's
 * createImageBitmap and Node's sharp), so a folder that works in one works in the other. Platform-free.
 */

/** Extensions (lower case, without the dot) read as images. Anything else is listed as skipped. */
export const IMAGE_EXTENSIONS: readonly string[] = ['png', 'jpg', 'jpeg', 'webp', 'gif', 'bmp'];

/** The extension of the file at `path` (`/` or `\` separated), lower case without the dot, or '' when it has none. */
export function fileExtension(path: string): string {
  const name = path.slice(Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\')) + 1);
  const dot = name.lastIndexOf('.');
  return dot <= 0 ? '' : name.slice(dot + 1).toLowerCase();
}

export function isImagePath(path: string): boolean {
  return IMAGE_EXTENSIONS.includes(fileExtension(path));
}
