// As the server reads them (src/story/macros.ts): case-insensitive, with the legacy <BOT>/<USER>.
const charMacro = /\{\{char\}\}|<BOT>/gi;
const userMacro = /\{\{user\}\}|<USER>/gi;

/** A card's stored text as the reader sees it: {{char}} is the character, {{user}} the player. */
export function expandMacros(text, { char, user }) {
  return text.replace(charMacro, () => char).replace(userMacro, () => user);
}
