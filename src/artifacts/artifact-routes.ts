import type { FalajApp, Services } from '../server/services.js';

// Placeholder: routes land here (owned by the helper building this part).
export async function artifactRoutes(_app: FalajApp, _svc: Services): Promise<void> {}
