export function AdminPage() {
  return <h1>Dashboard</h1>;
}
