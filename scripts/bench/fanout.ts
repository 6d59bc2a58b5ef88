export async function runFanout(): Promise<void> { throw new Error('--mode fanout: not built yet'); }
