import { cloneElement, useId, useState, type ReactElement, type ReactNode } from 'react';

export type Tone = 'info' | 'ok' | 'warn' | 'error';

export function Notice({ tone = 'info', title, children, live = false }: { tone?: Tone; title?: string; children?: ReactNode; live?: boolean }) {
  return (
    <div className={`notice notice-${tone}`} role={tone === 'error' ? 'alert' : live ? 'status' : undefined}>
      {title !== undefined && <strong className="notice-title">{title}</strong>}
      {children}
    </div>
  );
}

export function Badge({ tone, children }: { tone?: 'ok' | 'warn' | 'danger' | 'info'; children: ReactNode }) {
  return <span className={tone ? `badge badge-${tone}` : 'badge'}>{children}</span>;
}

export function ProgressBar({ value, max, label }: { value: number; max: number; label: string }) {
  const fraction = max > 0 ? Math.min(1, Math.max(0, value / max)) : 0;
  return (
    <div className="progress" role="progressbar" aria-label={label} aria-valuemin={0} aria-valuemax={max} aria-valuenow={value}>
      <div style={{ width: `${(fraction * 100).toFixed(1)}%` }} />
    </div>
  );
}

/** A read-only text field with a copy button that says when it copied. */
export function CopyField({ value, label }: { value: string; label: string }) {
  const id = useId();
  const [copied, setCopied] = useState<'idle' | 'copied' | 'failed'>('idle');
  const copy = () => {
    navigator.clipboard.writeText(value).then(
      () => {
        setCopied('copied');
      },
      () => {
        setCopied('failed');
      },
    );
  };
  return (
    <div className="copy-field">
      <label htmlFor={id} className="visually-hidden">
        {label}
      </label>
      <input id={id} type="text" readOnly value={value} className="mono" onFocus={(e) => { e.currentTarget.select(); }} />
      <button type="button" className="secondary small" onClick={copy} aria-label={`Copy ${label}`}>
        {copied === 'copied' ? 'Copied' : 'Copy'}
      </button>
      <span className="visually-hidden" role="status">
        {copied === 'copied' ? 'Copied to the clipboard' : copied === 'failed' ? 'Could not copy: select the text and copy it by hand' : ''}
      </span>
    </div>
  );
}

/** A labelled form field; the help line is the control's description (`aria-describedby`), not part of its name. */
export function Field({ label, help, children, htmlFor }: { label: string; help?: ReactNode; children: ReactElement<{ 'aria-describedby'?: string }>; htmlFor: string }) {
  const helpId = `${htmlFor}-help`;
  return (
    <div className="field">
      <label htmlFor={htmlFor}>{label}</label>
      {help !== undefined && (
        <span id={helpId} className="field-help">
          {help}
        </span>
      )}
      {help !== undefined ? cloneElement(children, { 'aria-describedby': helpId }) : children}
    </div>
  );
}

/** Saves text as a file download. */
export function downloadText(filename: string, text: string, type = 'text/csv;charset=utf-8'): void {
  downloadBlob(filename, new Blob([text], { type }));
}

export function downloadBlob(filename: string, blob: Blob): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => {
    URL.revokeObjectURL(url);
  }, 1000);
}
