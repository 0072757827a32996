import { useEffect, useId, useMemo, useRef, useState } from 'react';
import type { FederationConfig } from '@facmic/protocol';
import { Notice } from '../../components/ui.tsx';
import { applyClassMapping, isIdentityMapping, suggestClassMapping, type ClassMapping } from '../../lib/class-mapping.ts';
import { filesToHash, findDuplicates } from '../../lib/duplicate-images.ts';
import { digestFiles, type DigestProgress } from '../../lib/file-digests.ts';
import { entriesFromDrop, filesFromEntries, filesFromInput } from '../../lib/folder-input.ts';
import { scanFolder, type FolderScan, type IgnoredFile } from '../../lib/folder-reading.ts';
import { splitItems, PAPER_SPLIT } from '@facmic/learning/plain';
import { countOf, formatCount } from '../../lib/format.ts';
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
  /** Whether the page could match at least one folder name to a class by itself. */
  const [suggestedAny, setSuggestedAny] = useState(true);
  const [dragging, setDragging] = useState(false);
  const [readProblem, setReadProblem] = useState<string | null>(null);
  const [unreadable, setUnreadable] = useState<IgnoredFile[]>([]);
  /** Digests of the files that could be copies of others (null while they are computed). */
  const [digests, setDigests] = useState<ReadonlyMap<string, string> | null>(null);
  const [digestProgress, setDigestProgress] = useState<DigestProgress | null>(null);
  const digestAbort = useRef<AbortController | null>(null);
  const classes = federation.classNames;

  useEffect(() => {
    // React has no typed prop for the folder picker attributes.
    inputRef.current?.setAttribute('webkitdirectory', '');
    inputRef.current?.setAttribute('directory', '');
    return () => digestAbort.current?.abort();
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
    const suggested = suggestClassMapping(result.folders.map((f) => f.name), classes);
    setMapping(suggested);
    setSuggestedAny(Object.values(suggested).some((index) => index !== null));
    // Exact copies: only files of the same size can be identical, so only those are read and hashed.
    digestAbort.current?.abort();
    const abort = new AbortController();
    digestAbort.current = abort;
    setDigests(null);
    const candidates = filesToHash(result.folders.flatMap((folder) => folder.files.map((f) => ({ ...f, label: 0 }))));
    digestFiles(candidates, setDigestProgress, abort.signal).then(
      (found) => {
        setDigests(found);
        setDigestProgress(null);
      },
      () => {
        // Replaced by a newer choice of folder.
      },
    );
  };

  const mapped = useMemo(() => (scan ? applyClassMapping(scan.folders, mapping, classes) : null), [scan, mapping, classes]);
  const duplicates = useMemo(() => (mapped && digests ? findDuplicates(mapped.files, (path) => digests.get(path)) : null), [mapped, digests]);
  const usable = duplicates?.kept ?? null;
  const split = useMemo(() => (usable ? splitItems(usable, String(seed), (f) => f.path) : null), [usable, seed]);
  const missingClasses = usable ? classes.filter((_, index) => !usable.some((f) => f.label === index)) : [];
  const ignored = [...(scan?.ignored ?? []), ...unreadable];
  const nothingMapped = mapped !== null && mapped.files.length === 0;

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
      {scan && mapped && scan.folders.length > 0 && (
        <>
          <fieldset>
            <legend>Classes in {scan.rootName || 'your folder'}</legend>
            {nothingMapped ? (
              <Notice tone="warn" title={suggestedAny ? 'Every folder is left out' : 'None of the folder names match the federation’s classes'}>
                <p>
                  This federation’s classes are {classes.map((c) => `“${c}”`).join(', ')}. Choose the class of each folder below, or choose the folder that holds one sub-folder per
                  class.
                </p>
              </Notice>
            ) : (
              !isIdentityMapping(mapping, classes) && (
                <p className="small">Some folder names differ from the federation’s classes. Check that each folder goes to the right class, or leave it out.</p>
              )
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
          {!nothingMapped && missingClasses.length > 0 && (
            <Notice tone="warn" title="Some classes have no images">
              <p>No images for: {missingClasses.join(', ')}. You can still take part; the model just learns nothing about these classes from this hospital.</p>
            </Notice>
          )}
          {duplicates && duplicates.inSeveralClasses.length > 0 && (
            <Notice tone="warn" title="The same image is in more than one class">
              <div data-testid="images-in-two-classes">
                <p>
                  {duplicates.inSeveralClasses.length === 1 ? 'These files hold the same image' : 'Each line lists files that hold the same image'}, filed under different classes, so
                  its class is unclear: {duplicates.inSeveralClasses.length === 1 ? 'it is' : 'they are'} left out. To use {duplicates.inSeveralClasses.length === 1 ? 'it' : 'them'}, keep
                  each image in its own class folder only, then choose the folder again.
                </p>
                <ul className="small">
                  {duplicates.inSeveralClasses.slice(0, 100).map((group) => (
                    <li key={group.paths.join('|')}>
                      {group.paths.map((path, i) => (
                        <span key={path}>
                          {i > 0 && ' = '}
                          <span className="mono">{path}</span>
                        </span>
                      ))}{' '}
                      ({group.labels.map((label) => classes[label] ?? '?').join(', ')})
                    </li>
                  ))}
                  {duplicates.inSeveralClasses.length > 100 && <li>and {duplicates.inSeveralClasses.length - 100} more</li>}
                </ul>
              </div>
            </Notice>
          )}
          {duplicates && duplicates.copies.length > 0 && (
            <details>
              <summary data-testid="copies-summary">
                {duplicates.copies.length === 1 ? '1 file is an exact copy of another file' : `${formatCount(duplicates.copies.length)} files are exact copies of other files`} in the
                same class: each image is prepared and used once.
              </summary>
              <ul className="small">
                {duplicates.copies.slice(0, 200).map((copy) => (
                  <li key={copy.path}>
                    <span className="mono">{copy.path}</span> is a copy of <span className="mono">{copy.keptPath}</span>
                  </li>
                ))}
                {duplicates.copies.length > 200 && <li>and {duplicates.copies.length - 200} more</li>}
              </ul>
            </details>
          )}
          {ignored.length > 0 && (
            <details>
              <summary>
                {countOf(ignored.length, 'file')} will be left out
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
          {split && usable ? (
            <p data-testid="split-summary">
              {countOf(usable.length, 'image')}: {formatCount(split.train.length)} to train on, {formatCount(split.validation.length)} kept aside, {formatCount(split.test.length)} to
              test on ({PAPER_SPLIT.train * 100}/{PAPER_SPLIT.validation * 100}/{PAPER_SPLIT.test * 100} of a seeded shuffle, as in the paper: the same split every time for this hospital).
            </p>
          ) : (
            <p role="status" className="small muted" data-testid="copies-check">
              Looking for files that are exact copies of others{digestProgress && digestProgress.total > 0 ? ` (${formatCount(digestProgress.done)} of ${formatCount(digestProgress.total)})` : ''}…
            </p>
          )}
          <div className="row">
            <button type="button" onClick={start} disabled={!split || split.train.length === 0}>
              Prepare {formatCount(usable?.length ?? mapped.files.length)} images and join
            </button>
            {nothingMapped ? (
              <span className="small muted">Choose a class for at least one folder first.</span>
            ) : (
              waiting && <span className="small muted">The image model is still loading; preparation starts as soon as it is ready.</span>
            )}
          </div>
        </>
      )}
    </div>
  );
}
