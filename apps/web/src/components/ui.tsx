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

/** The ids a control is described by: its help line and its error, when present (`aria-describedby`). */
export function describedBy(...ids: readonly (string | null | false | undefined)[]): string | undefined {
  const list = ids.filter((id): id is string => typeof id === 'string' && id !== '');
  return list.length > 0 ? list.join(' ') : undefined;
}

type Describable = ReactElement<{ 'aria-describedby'?: string; 'aria-invalid'?: boolean }>;

/**
 * A labelled form field; the help line and the error (a sentence saying what to fix) describe the control
 * (`aria-describedby`), and an error marks it invalid (`aria-invalid`).
 */
export function Field({ label, help, error, children, htmlFor }: { label: string; help?: ReactNode; error?: string | null; children: Describable; htmlFor: string }) {
  const helpId = help !== undefined ? `${htmlFor}-help` : null;
  const errorId = error != null ? `${htmlFor}-error` : null;
  return (
    <div className={errorId !== null ? 'field field-invalid' : 'field'}>
      <label htmlFor={htmlFor}>{label}</label>
      {helpId !== null && (
        <span id={helpId} className="field-help">
          {help}
        </span>
      )}
      {cloneElement(children, { 'aria-describedby': describedBy(helpId, errorId), ...(errorId !== null ? { 'aria-invalid': true } : {}) })}
      {errorId !== null && <FieldError id={errorId}>{error}</FieldError>}
    </div>
  );
}

/** The sentence under a field or an action that says what went wrong there. */
export function FieldError({ id, children }: { id?: string; children: ReactNode }) {
  return (
    <span id={id} className="field-error" role="alert">
      {children}
    </span>
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

/**
 * The latest `limit` items of a long list (newest first), and the button that shows all of them or only the latest
 * again. `noun` names the items in the button (`rounds`, `admin actions`).
 */
export function useLatestFirst<T>(items: readonly T[], limit: number, noun: string): { shown: readonly T[]; toggle: ReactNode } {
  const [all, setAll] = useState(false);
  const newestFirst = [...items].reverse();
  const shown = all ? newestFirst : newestFirst.slice(0, limit);
  const toggle =
    items.length > limit ? (
      <button type="button" className="secondary small show-all" aria-expanded={all} onClick={() => { setAll(!all); }}>
        {all ? `Show the latest ${limit} only` : `Show all ${items.length} ${noun}`}
      </button>
    ) : null;
  return { shown, toggle };
}
