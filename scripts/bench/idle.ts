export async function runIdle(): Promise<void> { throw new Error('--mode idle: not built yet'); }
