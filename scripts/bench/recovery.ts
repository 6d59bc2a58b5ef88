export async function runRecovery(): Promise<void> { throw new Error('--mode recovery: not built yet'); }
