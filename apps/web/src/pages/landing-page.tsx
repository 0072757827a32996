export function LandingPage() {
  return (
    <section className="hero">
      <h1>facmic</h1>
      <p>Federated learning for medical image classification, in the browser.</p>
    </section>
  );
}
