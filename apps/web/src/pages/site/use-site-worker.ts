/**
 * Runs the hospital's ML worker for one session and keeps the page's view of it, persisting what a reload needs.
 */
import { useCallback, useEffect, useReducer, useRef, useState } from 'react';
import type { ModelFile } from '../../lib/model-file.ts';
import { removeSession, saveSession, type SiteSession } from '../../lib/site-session.ts';
import { datasetKeyFor, deleteSavedDataset } from '../../worker/saved-dataset.ts';
import type { DatasetImage, DemoDatasetRequest, PageToWorker, WorkerToPage } from '../../worker/worker-messages.ts';
import { sessionAfter } from './session-updates.ts';
import { INITIAL_SITE_VIEW, reduceSiteView, type PageAction, type SiteView } from './site-state.ts';

const CLIENT_NAME = `facmic-web/0.1 (${navigator.userAgent.includes('Chrome') ? 'Chromium' : navigator.userAgent.includes('Firefox') ? 'Firefox' : 'browser'})`;

export interface SiteWorkerHandle {
  readonly view: SiteView;
  readonly session: SiteSession;
  readonly sendDataset: (images: readonly DatasetImage[], seed: string) => void;
  readonly sendDemoDataset: (demo: DemoDatasetRequest) => void;
  readonly cancelEncoding: () => void;
  /** Classifies an image with the newest shared model, or with a loaded model file. */
  readonly classify: (image: Blob, name: string, modelFile: ModelFile | null) => void;
  readonly requestDemoPreview: (classNames: readonly string[], siteIndex: number) => void;
  /** Stops taking part and forgets this session's saved features and results in this browser. */
  readonly leave: () => Promise<void>;
}

export function useSiteWorker(initial: SiteSession): SiteWorkerHandle {
  const [view, dispatch] = useReducer((state: SiteView, message: WorkerToPage | PageAction) => reduceSiteView(state, message), INITIAL_SITE_VIEW);
  const [session, setSession] = useState(initial);
  const sessionRef = useRef(initial);
  const workerRef = useRef<Worker | null>(null);

  useEffect(() => {
    const worker = new Worker(new URL('../../worker/ml-worker.ts', import.meta.url), { type: 'module', name: 'facmic-ml' });
    workerRef.current = worker;
    worker.addEventListener('message', (event: MessageEvent<WorkerToPage>) => {
      const message = event.data;
      dispatch(message);
      const next = sessionAfter(sessionRef.current, message, Date.now());
      if (next !== sessionRef.current) {
        sessionRef.current = next;
        setSession(next);
        saveSession(localStorage, next);
      }
    });
    worker.addEventListener('error', (event) => {
      dispatch({ type: 'error', code: 'WORKER_FAILED', message: `The in-browser engine failed to start (${event.message || 'unknown error'}). Reload the page; if it happens again, try another browser.`, fatal: true });
    });
    const start: PageToWorker = {
      type: 'start',
      invite: { coordinatorUrl: initial.coordinatorUrl, federationId: initial.federationId, token: initial.token },
      device: initial.device,
      clientName: CLIENT_NAME,
      seed: initial.seed,
    };
    worker.postMessage(start);
    saveSession(localStorage, { ...sessionRef.current, updatedAt: Date.now() });
    return () => {
      worker.terminate();
      workerRef.current = null;
    };
  }, [initial]);

  const post = useCallback((message: PageToWorker) => {
    workerRef.current?.postMessage(message);
  }, []);

  return {
    view,
    session,
    sendDataset: (images, seed) => {
      dispatch({ type: 'dataset-sent' });
      post({ type: 'dataset', images, seed });
    },
    sendDemoDataset: (demo) => {
      dispatch({ type: 'dataset-sent' });
      post({ type: 'demo-dataset', demo });
    },
    cancelEncoding: () => {
      post({ type: 'cancel-encoding' });
    },
    classify: (image, name, modelFile) => {
      dispatch({ type: 'classify-started' });
      post({ type: 'classify', requestId: Date.now(), image, name, modelFile });
    },
    requestDemoPreview: (classNames, siteIndex) => {
      post({ type: 'demo-preview', classNames, siteIndex });
    },
    leave: async () => {
      workerRef.current?.terminate();
      workerRef.current = null;
      removeSession(localStorage, sessionRef.current);
      await deleteSavedDataset(await datasetKeyFor(sessionRef.current)).catch(() => {
        // Nothing saved, or storage unavailable: nothing to forget.
      });
    },
  };
}
