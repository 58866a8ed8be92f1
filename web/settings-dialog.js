import { el } from './dom.js';
import { loadPreferences, paces, savePreferences } from './preferences.js';

const $ = (id) => document.getElementById(id);

/**
 * The settings dialog: the storyteller in use (chosen where the server runs) and this
 * reader's preferences. onChange(preferences, previous) runs after they are saved.
 */
export function installSettings({ onChange }) {
  let info = null;
  $('settings-pace').replaceChildren(...paces.map((pace) => el('option', { value: pace.value }, pace.label)));

  $('open-settings').addEventListener('click', () => {
    const preferences = loadPreferences();
    $('settings-provider').textContent = info ? `${info.provider}${info.offline ? ' — offline: no model, no network' : ''}` : 'unknown';
    $('settings-provider-notice').textContent = info?.notice ?? '';
    $('settings-provider-notice').hidden = !info?.notice;
    $('settings-thoughts').checked = preferences.thoughts;
    $('settings-player').value = preferences.playerName;
    $('settings-pace').value = String(preferences.pace);
    $('settings-dialog').returnValue = '';
    $('settings-dialog').showModal();
  });

  $('settings-dialog').addEventListener('close', () => {
    if ($('settings-dialog').returnValue !== 'save') return;
    const previous = loadPreferences();
    const preferences = { thoughts: $('settings-thoughts').checked, playerName: $('settings-player').value.trim(), pace: Number($('settings-pace').value) };
    savePreferences(preferences);
    onChange(loadPreferences(), previous);
  });

  return {
    setInfo(value) {
      info = value;
    },
  };
}
