import { backendConformance } from './conformance.js';
import { createMemoryBackend, memoryFiles } from './memory.js';

backendConformance('memory', async () => {
  const backend = createMemoryBackend();
  return {
    backend,
    cleanup: async () => {},
    plantJunk: async (p) => {
      memoryFiles(backend).set(p, Buffer.from('junk'));
    },
  };
});
