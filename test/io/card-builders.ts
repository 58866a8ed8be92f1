import { strToU8, zipSync } from 'fflate';
import { writeArtPng } from './png-reader.js';

export const base64Json = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8').toString('base64');

/** A V3 card that uses every field a story takes from a card, macros included. */
export function storyCardV3(assets: unknown[] = []) {
  return {
    spec: 'chara_card_v3',
    spec_version: '3.0',
    data: {
      name: 'Maren Vos',
      nickname: 'Mar',
      description: '{{char}} keeps the lighthouse on Vell point; she calls {{user}} "the visitor".',
      personality: 'Patient, dry humour',
      scenario: '{{user}} climbs the lighthouse of Vell point during the long fog, where {{char}} waits.',
      first_mes: '*{{char}} looks up from the lamp.* So you made it up the stairs, {{user}}. <BOT> does not get many visitors, <USER>.',
      alternate_greetings: ['*The door creaks.* {{char}} does not turn around. "Mind the step, {{user}}."', 'GREETING-THREE: {{char}} is asleep by the lamp when {{user}} arrives.'],
      group_only_greetings: [],
      mes_example: '<START>\n{{user}}: Is it always this foggy?\n{{char}}: VOICE-EXAMPLE: Only on days ending in y.',
      creator_notes: 'Test card',
      system_prompt: 'CARD-SYSTEM: you narrate for {{char}}. {{original}}',
      post_history_instructions: 'POST-HISTORY: keep {{char}} dry and brief.{{original}}',
      tags: ['lighthouse'],
      creator: 'tests',
      character_version: '3',
      extensions: { some_tool: { nested: [1, { deep: true }] } },
      assets,
      character_book: {
        name: 'Maren book',
        scan_depth: 3,
        token_budget: 900,
        extensions: {},
        entries: [
          { keys: ['lamp'], content: 'CARD-LAMP: {{char}} trims the lamp wick twice a night.', extensions: { position: 1, depth: 4 }, enabled: true, insertion_order: 5, use_regex: false },
          { keys: [], content: 'CARD-CONSTANT: the fog never lifts while {{char}} is sad.', extensions: {}, enabled: true, insertion_order: 1, constant: true, use_regex: false },
          { keys: ['gull'], content: 'CARD-GULL: gulls nest on the gallery.', extensions: { selectiveLogic: 3 }, enabled: true, insertion_order: 2, selective: true, secondary_keys: ['white', 'loud'], use_regex: false },
        ],
      },
    },
  };
}

/** A PNG card with art, a V2 chara chunk, a ccv3 chunk and V3 embedded assets. */
export function pngCardWithAssets(): { png: Buffer; assetBytes: Buffer[]; card: ReturnType<typeof storyCardV3> } {
  const assetBytes = [writeArtPng([], 8), Buffer.from('ID3 not really audio \u0000\u0001\u00ff', 'latin1')];
  const card = storyCardV3([
    { type: 'icon', uri: 'ccdefault:', name: 'main', ext: 'png' },
    { type: 'emotion', uri: '__asset:0', name: 'smile', ext: 'png' },
    { type: 'other', uri: '__asset:1', name: 'theme', ext: 'mp3' },
    { type: 'background', uri: 'https://example.invalid/bg.png', name: 'bg', ext: 'png' },
    { type: 'emotion', uri: '__asset:7', name: 'missing', ext: 'png' },
  ]);
  const v2 = { spec: 'chara_card_v2', spec_version: '2.0', data: { ...card.data, assets: undefined } };
  const png = writeArtPng([
    ['chara', base64Json(v2)],
    ['ccv3', base64Json(card)],
    ['chara-ext-asset_:0', assetBytes[0]!.toString('base64')],
    ['chara-ext-asset_:1', assetBytes[1]!.toString('base64')],
  ]);
  return { png, assetBytes, card };
}

/** A CHARX zip: card.json plus assets under assets/, referenced as embeded://. */
export function charxCard(): { zip: Buffer; files: Record<string, Buffer> } {
  const files: Record<string, Buffer> = {
    'assets/icon/images/main.png': writeArtPng([], 16),
    'assets/emotion/images/smile.webp': Buffer.from('RIFF fake webp bytes', 'latin1'),
    'assets/other/module.bin': Buffer.from([0, 1, 2, 3, 254, 255]),
  };
  const card = storyCardV3([
    { type: 'icon', uri: 'embeded://assets/icon/images/main.png', name: 'main', ext: 'png' },
    { type: 'emotion', uri: 'embeded://assets/emotion/images/smile.webp', name: 'smile', ext: 'webp' },
  ]);
  const entries: Record<string, Uint8Array> = { 'card.json': strToU8(JSON.stringify(card)) };
  for (const [path, data] of Object.entries(files)) entries[path] = new Uint8Array(data);
  return { zip: Buffer.from(zipSync(entries)), files };
}

/** The scene a scripted model answers every call with: neutral prose, no lore keywords. */
export const neutralSceneJson = JSON.stringify({
  scene: 'Waves slap against the rocks below. Nothing else stirs.',
  choices: ['Wait by the window', 'Walk down to the shore', 'Sit and think'],
  characters: [],
});
