/**
 * The scene metadata key that marks a scene written by an author rather than the storyteller
 * (a Twine passage): taking the choice that leads to it moves there without a model call.
 * Its value is the passage name.
 */
export const AUTHORED_SCENE_KEY = 'twine_passage';
