import { useEffect, useId, useState } from 'react';
import type { FederationConfig } from '@facmic/protocol';
import { Badge, Notice } from '../../components/ui.tsx';
import { formatPercent } from '../../lib/format.ts';
import { MAX_MODEL_FILE_BYTES, readModelFile, type ModelFile } from '../../lib/model-file.ts';
import type { ClassifyModel } from '../../worker/worker-messages.ts';
import type { SiteView } from './site-state.ts';

const IMAGE_TYPES = 'image/png,image/jpeg,image/webp,image/gif,image/bmp';

/** The shared model this page holds, in words: `the final shared model (after round 50)`. */
function sharedModelWords(view: SiteView): string | null {
  const round = view.globalModelRound;
  if (round === null) return null;
  if (view.finished) return `the final shared model (after round ${round})`;
  return round === 0 ? 'the initial shared model' : `the shared model after round ${round}`;
}

/** The model a result came from, in words: `final model, after round 50`, `model file x.fmst`. */
function resultModelWords(model: ClassifyModel): string {
  if (model.kind === 'file') return `model file ${model.file}`;
  if (model.final) return `final model, after round ${model.round}`;
  return model.round === 0 ? 'initial model' : `model after round ${model.round}`;
}

/** An image the user chose, with a URL to show it (revoked when it is replaced). */
function useChosenImage(): [{ file: File; url: string } | null, (file: File) => void] {
  const [chosen, setChosen] = useState<{ file: File; url: string } | null>(null);
  useEffect(
    () => () => {
      if (chosen) URL.revokeObjectURL(chosen.url);
    },
    [chosen],
  );
  return [chosen, (file) => { setChosen({ file, url: URL.createObjectURL(file) }); }];
}

/**
 * Try a model on one image: the chosen image beside its class probabilities, always with the note that this is for
 * research only. The model is the newest shared one this page holds, or a model file (.fmst) downloaded from the
 * dashboard, which works without the coordinator.
 */
export function ClassifyPanel({
  view,
  federation,
  testModel,
  onClassify,
}: {
  view: SiteView;
  federation: FederationConfig;
  /** The federation's image model is the generated test model: results mean nothing. */
  testModel: boolean;
  onClassify: (image: Blob, name: string, modelFile: ModelFile | null) => void;
}) {
  const id = useId();
  const [modelFile, setModelFile] = useState<ModelFile | null>(null);
  const [useFile, setUseFile] = useState(false);
  const [fileProblem, setFileProblem] = useState<string | null>(null);
  const [chosen, choose] = useChosenImage();
  const shared = sharedModelWords(view);
  const fileInUse = useFile && modelFile !== null;
  const ready = fileInUse || shared !== null;
  const latest = view.classifications[0];
  const top = latest ? latest.probabilities.indexOf(Math.max(...latest.probabilities)) : -1;
  const total = latest ? latest.probabilities.reduce((a, b) => a + b, 0) : 0;
  // A result of a shared model older than the one the page holds now (e.g. classified before the federation ended).
  const earlier = latest?.model.kind === 'shared' && view.globalModelRound !== null && latest.model.round < view.globalModelRound ? latest.model : null;

  const classify = (file: File) => {
    choose(file);
    onClassify(file, file.name, fileInUse ? modelFile : null);
  };

  const loadModelFile = (file: File) => {
    if (file.size > MAX_MODEL_FILE_BYTES) {
      setFileProblem(`${file.name} is not a model file of this federation: it is far larger than any model file.`);
      return;
    }
    void file.arrayBuffer().then((buffer) => {
      const reading = readModelFile(file.name, new Uint8Array(buffer), federation);
      if (reading.ok) {
        setModelFile(reading.model);
        setUseFile(true);
        setFileProblem(null);
      } else setFileProblem(reading.message);
    });
  };

  return (
    <section className="card" aria-labelledby={`${id}-title`} data-testid="classify-panel">
      <h2 id={`${id}-title`}>Classify an image</h2>
      <fieldset className="model-choice">
        <legend>Model</legend>
        <label className="check">
          <input type="radio" name={`${id}-model`} checked={!fileInUse} disabled={shared === null} onChange={() => { setUseFile(false); }} />
          {shared !== null ? 'The shared model this hospital holds' : 'The shared model (this hospital receives it at its first round)'}
        </label>
        <label className="check">
          <input type="radio" name={`${id}-model`} checked={fileInUse} disabled={modelFile === null} onChange={() => { setUseFile(true); }} />
          {modelFile ? `The model file ${modelFile.name}` : 'A model file (.fmst) from the dashboard'}
        </label>
        <div className="row small">
          <input
            id={`${id}-model-file`}
            type="file"
            accept=".fmst,application/octet-stream"
            className="visually-hidden"
            data-testid="model-file-input"
            onChange={(e) => {
              const file = e.currentTarget.files?.[0];
              if (file) loadModelFile(file);
              e.currentTarget.value = '';
            }}
          />
          <label htmlFor={`${id}-model-file`} className="button secondary small">
            {modelFile ? 'Load another model file…' : 'Load a model file…'}
          </label>
          <span className="muted">The admin downloads it from the dashboard (“Download round …”). It is read in this browser; no connection is needed.</span>
        </div>
        {fileProblem !== null && (
          <p className="field-error" role="alert">
            {fileProblem}
          </p>
        )}
      </fieldset>
      <p className="small" data-testid="classify-model">
        {ready ? `Uses ${fileInUse ? `the model file ${modelFile.name}` : shared}. ` : 'No model yet: it arrives with this hospital’s first round, or load a model file. '}
        The image is read in this browser only.
      </p>
      <input
        id={id}
        type="file"
        accept={IMAGE_TYPES}
        className="visually-hidden"
        data-testid="classify-input"
        disabled={view.classifying || !ready}
        onChange={(e) => {
          const file = e.currentTarget.files?.[0];
          if (file) classify(file);
          e.currentTarget.value = '';
        }}
      />
      <label htmlFor={id} className="button secondary" aria-disabled={!ready || view.classifying}>
        Choose an image…
      </label>
      {view.classifying && (
        <p role="status" className="small">
          Classifying…
        </p>
      )}
      {view.classifyProblem !== null && (
        <Notice tone="error" title="Could not classify this image">
          <p>{view.classifyProblem}</p>
        </Notice>
      )}
      {latest && (
        <div className="classify-result" data-testid="classify-result">
          {chosen && chosen.file.name === latest.name && <img src={chosen.url} alt={`The chosen image: ${latest.name}`} className="classify-image" />}
          <div className="classify-outcome">
            <p>
              <strong>{latest.name}</strong>: most likely <strong data-testid="classify-top">{federation.classNames[top] ?? '?'}</strong>{' '}
              <span className="small muted">({resultModelWords(latest.model)})</span>
            </p>
            <ul className="prob-list" aria-label="Probability of each class">
              {latest.probabilities.map((p, i) => (
                <li key={federation.classNames[i] ?? i} className={i === top ? 'top' : undefined} data-testid="classify-probability" data-probability={p}>
                  <span>{federation.classNames[i]}</span>
                  <div className="prob-bar" aria-hidden="true">
                    <div style={{ width: `${(p * 100).toFixed(1)}%` }} />
                  </div>
                  <span className="num">{formatPercent(p)}</span>
                </li>
              ))}
            </ul>
            <p className="small muted">Probabilities add up to {formatPercent(total)}.</p>
            <p className="research-note" data-testid="classify-note">
              <strong>Research use only — not for diagnosis</strong>
              {testModel && (
                <>
                  {' '}
                  <Badge tone="warn">test model: this result means nothing</Badge>
                </>
              )}
            </p>
            {earlier && (
              <Notice tone="info">
                <p>
                  This result comes from the {resultModelWords(earlier)}, an earlier model than {shared ?? 'the newest one'}.
                  {chosen && chosen.file.name === latest.name ? ' ' : ' Choose the image again to classify it with the newest model.'}
                  {chosen && chosen.file.name === latest.name && (
                    <button
                      type="button"
                      className="secondary small"
                      disabled={view.classifying}
                      onClick={() => {
                        onClassify(chosen.file, chosen.file.name, null);
                      }}
                    >
                      Classify again with {shared}
                    </button>
                  )}
                </p>
              </Notice>
            )}
          </div>
        </div>
      )}
    </section>
  );
}
