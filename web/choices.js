import { el } from './dom.js';

/**
 * The head scene's choices. Each has its own "with an instruction" box, so that an
 * instruction always goes with the choice it modifies; onTake(number, instruction?) takes one.
 */
export function renderChoices(list, choices, { onTake }) {
  list.replaceChildren(
    ...choices.map((choice) => {
      const input = el('input', {
        class: 'choice-instruction-input',
        maxlength: 2000,
        placeholder: 'e.g. ask her name quietly',
        'aria-label': `Instruction for choice ${choice.number}`,
      });
      const form = el(
        'form',
        {
          class: 'choice-instruction',
          hidden: true,
          onsubmit: (event) => {
            event.preventDefault();
            const instruction = input.value.trim();
            onTake(choice.number, instruction || undefined);
          },
        },
        input,
        el('button', { type: 'submit', class: 'take-with-instruction' }, `Take ${choice.number}`),
      );
      const toggle = el(
        'button',
        {
          type: 'button',
          class: 'add-instruction',
          'aria-expanded': 'false',
          'aria-label': `Choice ${choice.number} with an instruction`,
          title: 'Take this choice with an instruction',
          onclick: () => {
            form.hidden = !form.hidden;
            toggle.setAttribute('aria-expanded', String(!form.hidden));
            if (!form.hidden) input.focus();
          },
        },
        el('span', { 'aria-hidden': 'true' }, '✎'),
        el('span', { class: 'add-instruction-label' }, ' with an instruction'),
      );
      return el(
        'li',
        { class: 'choice-item' },
        el(
          'div',
          { class: 'choice-row' },
          el('button', { type: 'button', class: 'choice', 'data-choice': choice.number, onclick: () => onTake(choice.number) }, el('span', { class: 'choice-number' }, `${choice.number}`), el('span', { class: 'choice-text' }, choice.content)),
          toggle,
        ),
        form,
      );
    }),
  );
}

/** Keys 1–9 take that choice, unless the reader is typing or the page is busy (`isIdle()` false). */
export function installChoiceKeys(isIdle) {
  document.addEventListener('keydown', (event) => {
    if (!isIdle() || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target.closest?.('input, textarea, select, [contenteditable], dialog')) return;
    if (!/^[1-9]$/.test(event.key)) return;
    const button = document.querySelector(`#choices .choice[data-choice="${event.key}"]`);
    if (!button || button.disabled) return;
    event.preventDefault();
    button.click();
  });
}
