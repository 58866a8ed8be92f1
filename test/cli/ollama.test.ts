import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InteractiveCli } from '../helpers/interactive-cli.js';
import { startFakeOllama, type FakeOllama } from '../helpers/fake-model-servers.js';

let ollama: FakeOllama;
let dataDir: string;
beforeAll(async () => {
  ollama = await startFakeOllama();
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lw-ollama-'));
});
afterAll(async () => {
  await ollama.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('playing with Ollama', () => {
  it('offers to pull a missing model with a progress bar, then writes scenes with it and says so', async () => {
    ollama.models = ['some-other-model:latest'];
    ollama.reply({
      text: JSON.stringify({
        scene: 'The lamp gutters as the ferry docks. Ilse Marr waves you ashore.',
        choices: ['Greet Ilse', 'Look for an inn', 'Stay on the ferry'],
        characters: [{ name: 'Ilse Marr', role: 'present' }],
      }),
    });
    const cli = new InteractiveCli([], {
      LIVINGWORLD_DATA_DIR: dataDir,
      DATABASE_URL: '',
      LLM_PROVIDER: 'ollama',
      OLLAMA_HOST: ollama.url,
      OLLAMA_MODEL: 'llama3.2',
    });
    try {
      await cli.waitFor(/Pull llama3\.2 from .* now\? \[y\/N\] $/);
      expect(cli.output).toMatch(/llama3\.2/);
      let mark = cli.send('y');
      const pulled = await cli.waitFor(/Choose: $/, { from: mark });
      expect(pulled).toMatch(/\[#{15}-{15}\] 50%/);
      expect(pulled).toMatch(/Pulled llama3\.2/);
      expect(pulled).toMatch(/ollama llama3\.2 at http:\/\/127\.0\.0\.1/);
      mark = cli.send('1');
      await cli.waitFor(/Title: $/, { from: mark });
      cli.send('Ferry');
      await cli.waitFor(/Setting.*: $/, { from: mark });
      cli.send('A river port at night');
      await cli.waitFor(/Instructions.*: $/, { from: mark });
      mark = cli.send('');
      const scene = await cli.waitFor(/\n> $/, { from: mark });
      expect(scene).toMatch(/Scene 1 · ollama llama3\.2/);
      expect(scene).toMatch(/Ilse Marr waves you ashore/);
      expect(ollama.requests.some((r) => r.path === '/api/chat' && (r.body as { format?: unknown }).format !== undefined)).toBe(true);
      cli.send('quit');
      await cli.waitFor(/Choose: $/, { from: mark });
      cli.send('7');
      expect(await cli.close()).toBe(0);
    } finally {
      await cli.close();
    }
  });
});
