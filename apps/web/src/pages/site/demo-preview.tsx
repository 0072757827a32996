import { useEffect, useRef } from 'react';
import type { RgbaImage } from '@facmic/encoder';

/** One generated example per class, as this demo hospital draws them (its own brightness, contrast, tint, noise). */
export function DemoPreview({
  classNames,
  siteIndex,
  images,
  onRequest,
}: {
  classNames: readonly string[];
  siteIndex: number;
  images: readonly { className: string; image: RgbaImage }[] | null;
  onRequest: (classNames: readonly string[], siteIndex: number) => void;
}) {
  useEffect(() => {
    onRequest(classNames, siteIndex);
    // Asked once per hospital and class list (the callback changes identity on every render).
  }, [classNames.join('\n'), siteIndex]);
  if (!images) return null;
  return (
    <ul className="row" style={{ listStyle: 'none', padding: 0, margin: '0 0 1rem' }} aria-label="Example images of this demo hospital">
      {images.map((g) => (
        <li key={g.className} style={{ textAlign: 'center' }}>
          <PixelCanvas image={g.image} label={`Example of ${g.className}`} />
          <div className="small muted">{g.className}</div>
        </li>
      ))}
    </ul>
  );
}

function PixelCanvas({ image, label }: { image: RgbaImage; label: string }) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const context = ref.current?.getContext('2d');
    if (!context) return;
    context.putImageData(new ImageData(new Uint8ClampedArray(image.data), image.width, image.height), 0, 0);
  }, [image]);
  return <canvas ref={ref} width={image.width} height={image.height} role="img" aria-label={label} style={{ width: 72, height: 72, borderRadius: 6 }} />;
}
