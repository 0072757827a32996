import { useEffect, useId, useMemo, useRef, useState } from 'react';
import type { FederationConfig } from '@facmic/protocol';
import { Notice } from '../../components/ui.tsx';
import { applyClassMapping, isIdentityMapping, suggestClassMapping, type ClassMapping } from '../../lib/class-mapping.ts';
import { entriesFromDrop, filesFromEntries, filesFromInput } from '../../lib/folder-input.ts';
import { scanFolder, type FolderScan, type IgnoredFile } from '../../lib/folder-reading.ts';
import { splitLocal, PAPER_SPLIT } from '../../lib/local-split.ts';
import { formatCount } from '../../lib/format.ts';
import type { DatasetImage, DemoDatasetRequest } from '../../worker/worker-messages.ts';
import { DemoPreview } from './demo-preview.tsx';
import type { SiteView } from './site-state.ts';

export const DEMO_IMAGES_PER_CLASS = 24;

interface ImageChooserProps {
  federation: FederationConfig;
  demoSite: number | null;
  seed: number;
  problem: string | null;
  cancelled: boolean;
  /** The worker is not asking for images yet (still loading the model); the choice is kept until it asks. */
  waiting: boolean;
  onImages: (images: readonly DatasetImage[], seed: string) => void;
  onDemo: (demo: DemoDatasetRequest) => void;
  demoPreview: SiteView['demoPreview'];
  onDemoPreview: (classNames: readonly string[], siteIndex: number) => void;
}

export function ImageChooser(props: ImageChooserProps) {
  const { federation, demoSite, seed, onDemo } = props;
  const autoStarted = useRef(false);
  useEffect(() => {
    // Demo hospitals start by themselves, so a demo needs no clicks in every tab.
    if (demoSite !== null && !autoStarted.current && !props.cancelled && props.problem === null) {
      autoStarted.current = true;
      onDemo({ siteIndex: demoSite, imagesPerClass: DEMO_IMAGES_PER_CLASS, seed: String(seed) });
    }
  }, [demoSite, onDemo, seed, props.cancelled, props.problem]);

  return (
    <section className="card" aria-labelledby="choose-title" data-testid="image-chooser">
      <h2 id="choose-title">Choose your images</h2>
      {props.problem !== null && (
        <Notice tone="error" title="These images cannot be used yet">
          <p>{props.problem}</p>
        </Notice>
      )}
      {props.cancelled && (
        <Notice tone="info" title="Preparation cancelled">
          <p>Images prepared so far are kept. Choose the folder again to continue.</p>
        </Notice>
      )}
      {demoSite !== null ? (
        <div>
          <p>
            This is demo hospital {demoSite + 1}. It uses generated images, {DEMO_IMAGES_PER_CLASS} per class, drawn with this hospital’s own look (contrast, noise,
            tint), the way scanners differ between hospitals.
          </p>
          <DemoPreview classNames={federation.classNames} siteIndex={demoSite} images={props.demoPreview} onRequest={props.onDemoPreview} />
          <button type="button" onClick={() => { onDemo({ siteIndex: demoSite, imagesPerClass: DEMO_IMAGES_PER_CLASS, seed: String(seed) }); }}>
            Use the demo images
          </button>
        </div>
      ) : (
        <FolderChooser {...props} />
      )}
    </section>
  );
}

function FolderChooser({ federation, seed, onImages, waiting }: ImageChooserProps) {
  const inputId = useId();
  const inputRef = useRef<HTMLInputElement>(null);
  const [scan, setScan] = useState<FolderScan<File> | null>(null);
  const [mapping, setMapping] = useState<ClassMapping>({});
  const [dragging, setDragging] = useState(false);
  const [readProblem, setReadProblem] = useState<string | null>(null);
  const [unreadable, setUnreadable] = useState<IgnoredFile[]>([]);
  const classes = federation.classNames;

  useEffect(() => {
    // React has no typed prop for the folder picker attributes.
    inputRef.current?.setAttribute('webkitdirectory', '');
    inputRef.current?.setAttribute('directory', '');
  }, []);

  const accept = (files: ReturnType<typeof filesFromInput>, unreadablePaths: readonly string[] = []) => {
    if (files.length === 0) {
      setReadProblem('The folder is empty, or the browser could not list it. Choose the folder that holds one sub-folder per class.');
      return;
    }
    const result = scanFolder(files, classes);
    setReadProblem(result.folders.length === 0 ? 'No images were found inside sub-folders. Put the images of each class in their own sub-folder (for example “glioma/”, “meningioma/”).' : null);
    setUnreadable(unreadablePaths.map((path) => ({ path, reason: 'the browser could not read it' })));
    setScan(result);
    setMapping(suggestClassMapping(result.folders.map((f) => f.name), classes));
  };

  const mapped = useMemo(() => (scan ? applyClassMapping(scan.folders, mapping, classes) : null), [scan, mapping, classes]);
  const split = useMemo(() => (mapped ? splitLocal(mapped.files, (f) => f.label, (f) => f.path, String(seed)) : null), [mapped, seed]);
  const ignored = [...(scan?.ignored ?? []), ...unreadable];

  const start = () => {
    if (!split) return;
    const images: DatasetImage[] = [];
    for (const part of ['train', 'validation', 'test'] as const) {
      for (const f of split[part]) images.push({ name: f.path, file: f.file, label: f.label, part });
    }
    onImages(images, String(seed));
  };

  return (
    <div className="stack">
      <p>
        Choose the folder that holds your images, with <strong>one sub-folder per class</strong> (for example {classes.slice(0, 2).map((c) => `“${c}/”`).join(', ')}). The images
        are read here and never uploaded.
      </p>
      <div
        className={dragging ? 'dropzone active' : 'dropzone'}
        onDragOver={(e) => {
          e.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => { setDragging(false); }}
        onDrop={(e) => {
          e.preventDefault();
          setDragging(false);
          const entries = entriesFromDrop(e.dataTransfer);
          void filesFromEntries(entries).then(({ files, unreadable: bad }) => { accept(files, bad); });
        }}
      >
        <input
          id={inputId}
          ref={inputRef}
          type="file"
          multiple
          className="visually-hidden"
          data-testid="folder-input"
          onChange={(e) => {
            if (e.currentTarget.files) accept(filesFromInput(e.currentTarget.files));
            // Choosing the same folder again must be noticed too.
            e.currentTarget.value = '';
          }}
        />
        <label htmlFor={inputId} className="button">
          Choose a folder…
        </label>
        <p className="small muted" style={{ margin: '0.5rem 0 0' }}>
          or drag the folder here
        </p>
      </div>
      {readProblem !== null && (
        <Notice tone="error">
          <p>{readProblem}</p>
        </Notice>
      )}
      {scan && mapped && split && scan.folders.length > 0 && (
        <>
          <fieldset>
            <legend>Classes in {scan.rootName || 'your folder'}</legend>
            {!isIdentityMapping(mapping, classes) && (
              <p className="small">Some folder names differ from the federation’s classes. Check that each folder goes to the right class, or leave it out.</p>
            )}
            <div className="table-scroll">
              <table data-testid="class-mapping">
                <thead>
                  <tr>
                    <th scope="col">Folder</th>
                    <th scope="col" className="num">
                      Images
                    </th>
                    <th scope="col">Class</th>
                  </tr>
                </thead>
                <tbody>
                  {scan.folders.map((folder) => (
                    <tr key={folder.name}>
                      <th scope="row">{folder.name}</th>
                      <td className="num">{formatCount(folder.files.length)}</td>
                      <td>
                        <label className="visually-hidden" htmlFor={`${inputId}-${folder.name}`}>
                          Class for folder {folder.name}
                        </label>
                        <select
                          id={`${inputId}-${folder.name}`}
                          value={mapping[folder.name] ?? ''}
                          onChange={(e) => {
                            setMapping({ ...mapping, [folder.name]: e.target.value === '' ? null : Number(e.target.value) });
                          }}
                          style={{ marginTop: 0 }}
                        >
                          <option value="">Leave out</option>
                          {classes.map((name, index) => (
                            <option key={name} value={index}>
                              {name}
                            </option>
                          ))}
                        </select>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </fieldset>
          {mapped.missingClasses.length > 0 && (
            <Notice tone="warn" title="Some classes have no images">
              <p>
                No images for: {mapped.missingClasses.join(', ')}. You can still take part; the model just learns nothing about these classes from this hospital.
              </p>
            </Notice>
          )}
          {ignored.length > 0 && (
            <details>
              <summary>
                {ignored.length} file{ignored.length === 1 ? '' : 's'} will be left out
              </summary>
              <ul className="small" data-testid="ignored-files">
                {ignored.slice(0, 200).map((f) => (
                  <li key={f.path}>
                    <span className="mono">{f.path}</span>: {f.reason}
                  </li>
                ))}
                {ignored.length > 200 && <li>and {ignored.length - 200} more</li>}
              </ul>
            </details>
          )}
          <p data-testid="split-summary">
            {formatCount(mapped.files.length)} images: {formatCount(split.train.length)} to train on, {formatCount(split.validation.length)} kept aside, {formatCount(split.test.length)} to test
            on ({PAPER_SPLIT.train * 100}/{PAPER_SPLIT.validation * 100}/{PAPER_SPLIT.test * 100} per class, the same split every time for this hospital).
          </p>
          <div className="row">
            <button type="button" onClick={start} disabled={split.train.length === 0}>
              Prepare {formatCount(mapped.files.length)} images and join
            </button>
            {waiting && <span className="small muted">The image model is still loading; preparation starts as soon as it is ready.</span>}
          </div>
        </>
      )}
    </div>
  );
}
