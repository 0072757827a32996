/**
 * @facmic/coordinator as a library: the factory and its parts, for tests, benchmarks and the CLI's
 * `simulate --coordinator` (Node sites against a running coordinator). `npm start` runs `main.ts`.
 */
export { createCoordinator, DEFAULT_CONFIG } from './create-coordinator.ts';
export type { Coordinator, CoordinatorConfig, CoordinatorDeps } from './create-coordinator.ts';
export { FakeClock, systemClock } from './clock.ts';
export type { Clock, TimerHandle } from './clock.ts';
export { createConsoleLogger, createMemoryLogger, silentLogger } from './logger.ts';
export type { Logger, LogLevel } from './logger.ts';
export { openSqliteStore, MIGRATIONS, SCHEMA_VERSION } from './store/sqlite-store.ts';
export type { CoordinatorStore } from './store/store.ts';
export { FederationEngine } from './engine.ts';
export type { Outcome, Refusal } from './outcome.ts';
export { generateToken, hashToken, setUpAdminToken } from './auth.ts';
export { loadConfig, ConfigError } from './config.ts';
export type { StartupConfig } from './config.ts';
export { createClipFeatureEncoder, resolveModel } from './features/clip-encoder.ts';
export { createSyntheticEncoder, syntheticEncoderIdentity } from './features/synthetic-encoder.ts';
export type { FeatureEncoder, EncoderImage, LabelledImage } from './features/feature-encoder.ts';
export { createNodeSite, loadNodeSiteData } from './node-site/node-site.ts';
export type { NodeSiteData, NodeSiteOptions } from './node-site/node-site.ts';
export { initTfBackend } from './tf-backend.ts';
export { DEMO_FEDERATION, DEMO_FEDERATION_ID } from './demo.ts';
