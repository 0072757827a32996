export function SitePage() {
  return <h1>Hospital</h1>;
}
