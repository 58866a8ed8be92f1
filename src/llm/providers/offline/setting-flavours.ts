/**
 * The vocabulary of each kind of place the offline storyteller knows. Phrases are written to
 * slot into sentence templates: places and sounds take "the", objects take "a", sights are
 * clauses, events are whole sentences, goals are infinitives without "to".
 */
export interface SettingFlavour {
  id: string;
  keywords: readonly string[];
  places: readonly string[];
  sights: readonly string[];
  sounds: readonly string[];
  smells: readonly string[];
  objects: readonly string[];
  roles: readonly string[];
  features: readonly string[];
  events: readonly string[];
  goals: readonly string[];
}

const harbour: SettingFlavour = {
  id: 'harbour',
  keywords: ['harbour', 'harbor', 'port', 'sea', 'ocean', 'ship', 'dock', 'pier', 'lighthouse', 'coast', 'island', 'pirate', 'sail', 'bay', 'beach', 'tide', 'fishing', 'wharf', 'quay'],
  places: ['the end of the pier', 'the fish market', 'the harbourmaster\'s office', 'the sailors\' tavern', 'the old boathouse', 'the breakwater', 'the rope walk'],
  sights: ['gulls wheel above the masts', 'fog rolls in over the grey water', 'lanterns sway on the moored boats', 'the tide drags at the pilings', 'nets hang drying along the quay'],
  sounds: ['the slap of water against the pilings', 'the creak of mooring ropes', 'a distant foghorn', 'the cries of the gulls'],
  smells: ['tar and salt', 'fish guts and wet rope', 'seaweed rotting on the stones'],
  objects: ['a waterlogged ledger', 'a brass spyglass', 'a coil of cut rope', 'a bottle with a rolled-up note inside', 'a ship\'s bell cracked down one side'],
  roles: ['harbour pilot', 'net-mender', 'dockhand', 'ship\'s cook', 'smuggler', 'customs clerk'],
  features: ['salt-cracked hands', 'a tattooed forearm', 'a sea-stained coat', 'a voice roughened by wind'],
  events: ['Out on the water, a bell begins to toll though no boat is moving.', 'A wave breaks over the breakwater and sends spray across the stones.', 'Somewhere a hull groans against the dock, long and low.', 'The fog thickens until the far end of the quay disappears.'],
  goals: ['find out why the ships keep vanishing', 'pay off a debt to the harbourmaster', 'get a berth on the next ship out', 'keep the harbour\'s secrets buried'],
};

const forest: SettingFlavour = {
  id: 'forest',
  keywords: ['forest', 'wood', 'woods', 'grove', 'glade', 'jungle', 'tree', 'elf', 'elven', 'druid', 'wild', 'wilderness', 'thicket', 'hunter'],
  places: ['the old oak', 'the woodcutters\' clearing', 'the mossy ravine', 'the ranger\'s hut', 'the standing stones', 'the stream crossing'],
  sights: ['light falls green through the canopy', 'mist lies low between the trunks', 'crows shift in the branches above', 'the path narrows under the roots'],
  sounds: ['the creak of branches', 'birdsong that stops all at once', 'a stream running somewhere out of sight', 'dry leaves shifting underfoot'],
  smells: ['moss and damp earth', 'pine resin', 'woodsmoke from a hidden fire'],
  objects: ['a carved wooden charm', 'an arrow fletched with black feathers', 'a snapped snare', 'a lantern left hanging on a branch'],
  roles: ['woodcutter', 'ranger', 'herbalist', 'charcoal burner', 'hunter', 'hermit'],
  features: ['bark-brown hands', 'a cloak stitched with leaves', 'a bow across one shoulder', 'eyes that miss nothing'],
  events: ['Something large moves through the undergrowth and is gone.', 'The wind drops, and the whole forest seems to hold its breath.', 'A horn sounds far off between the trees, once, twice.', 'Rain begins to patter on the leaves high above.'],
  goals: ['find what has been killing the deer', 'keep strangers away from the old stones', 'gather enough herbs before the frost', 'learn who lit the fires in the deep wood'],
};

const city: SettingFlavour = {
  id: 'city',
  keywords: ['city', 'street', 'streets', 'alley', 'metropolis', 'neon', 'noir', 'detective', 'district', 'tavern', 'inn', 'guild', 'slum', 'market', 'cyberpunk', 'downtown', 'precinct'],
  places: ['the night market', 'a back alley off the main street', 'the guildhall steps', 'the Crooked Lantern tavern', 'the old cathedral square', 'the rooftops above the tannery'],
  sights: ['rain runs in the gutters', 'crowds press between the stalls', 'a lamplighter works down the street', 'shutters bang closed one by one'],
  sounds: ['the clatter of cartwheels', 'a street vendor\'s patter', 'a bell striking the hour', 'raised voices behind a door'],
  smells: ['wet stone and smoke', 'roasting chestnuts', 'the river at low tide'],
  objects: ['a torn wanted poster', 'a ring of keys', 'a sealed letter with a broken crest', 'a pawn ticket', 'a dropped purse'],
  roles: ['street vendor', 'night watchman', 'pickpocket', 'scribe', 'tavern keeper', 'fence'],
  features: ['ink-stained fingers', 'a coat too fine for this street', 'a quick, crooked smile', 'a scar through one eyebrow'],
  events: ['A whistle shrills two streets away, and people start to run.', 'A carriage without markings rolls slowly past.', 'Somebody upstairs throws a window open and shouts a name.', 'The lamps along the street gutter and go out.'],
  goals: ['clear a brother\'s name', 'find out who is buying up the district', 'stay one step ahead of the watch', 'collect on an old favour'],
};

const castle: SettingFlavour = {
  id: 'castle',
  keywords: ['castle', 'keep', 'king', 'queen', 'court', 'knight', 'throne', 'palace', 'fortress', 'kingdom', 'prince', 'princess', 'duke', 'royal', 'citadel'],
  places: ['the great hall', 'the chapel', 'the battlements', 'the kitchens', 'the east tower', 'the stables'],
  sights: ['banners stir along the walls', 'torches gutter in their brackets', 'servants hurry past with lowered eyes', 'guards change at the gate'],
  sounds: ['boots on the flagstones', 'the clang of the portcullis', 'a lute playing somewhere above', 'whispers that stop when you come near'],
  smells: ['beeswax and smoke', 'roasting meat from the kitchens', 'cold stone'],
  objects: ['a signet ring', 'a half-burned letter', 'a silver goblet', 'a key on a velvet ribbon', 'a dagger with a jewelled hilt'],
  roles: ['steward', 'lady-in-waiting', 'squire', 'court physician', 'kitchen maid', 'captain of the guard'],
  features: ['a chain of office', 'a velvet doublet gone threadbare', 'a soldier\'s bearing', 'a carefully blank face'],
  events: ['A trumpet sounds from the gatehouse: riders are coming.', 'A door slams somewhere above, and the whole hall falls silent.', 'A servant drops a tray, and the crash rings through the stone.', 'The chapel bell begins to ring, though it is not the hour.'],
  goals: ['win the king\'s favour', 'find out who poisoned the old steward', 'protect the young heir', 'escape an arranged marriage'],
};

const desert: SettingFlavour = {
  id: 'desert',
  keywords: ['desert', 'dune', 'dunes', 'sand', 'oasis', 'caravan', 'wasteland', 'sun', 'nomad', 'pyramid', 'canyon', 'mesa'],
  places: ['the oasis well', 'the caravan camp', 'the ruined watchtower', 'the salt flats', 'the shade of the red cliffs'],
  sights: ['heat shimmers over the dunes', 'camels kneel in the shade', 'wind lifts ribbons of sand', 'the sun hangs white and merciless'],
  sounds: ['the hiss of blowing sand', 'camel bells', 'the snap of tent canvas', 'a long silence'],
  smells: ['hot dust', 'spiced tea', 'dung fires'],
  objects: ['a cracked waterskin', 'a brass compass', 'a scrap of map', 'a bone charm', 'a buried strongbox'],
  roles: ['caravan guide', 'water-seller', 'scout', 'trader', 'storyteller', 'sand-reader'],
  features: ['a sun-dark face', 'a veil against the sand', 'a curved knife at the hip', 'cracked lips'],
  events: ['A dust storm rises on the horizon, a brown wall swallowing the sky.', 'A rider appears at the top of a dune and stops, watching.', 'The well rope creaks and comes up dry.', 'Far off, a line of riders crosses the flats without a sound.'],
  goals: ['find the lost well', 'get the caravan through alive', 'sell the map before the others find it', 'avenge a burned camp'],
};

const space: SettingFlavour = {
  id: 'space',
  keywords: ['space', 'starship', 'spaceship', 'station', 'planet', 'orbit', 'galaxy', 'alien', 'asteroid', 'colony', 'star', 'stars', 'android', 'robot', 'cyborg', 'sci-fi', 'moon'],
  places: ['the docking ring', 'the hydroponics bay', 'the observation deck', 'the engine room', 'the crew mess', 'the airlock corridor'],
  sights: ['warning lights pulse amber along the bulkhead', 'a planet turns slowly beyond the viewport', 'frost creeps across the glass', 'cargo drones drift past in silence'],
  sounds: ['the hum of the recyclers', 'a hull plate ticking as it cools', 'a tinny announcement repeating', 'the hiss of a pressure door'],
  smells: ['ozone and recycled air', 'burnt coffee', 'hot electronics'],
  objects: ['a cracked data slate', 'an access card with someone else\'s face', 'a sealed sample canister', 'a maintenance drone missing one arm'],
  roles: ['engineer', 'pilot', 'quartermaster', 'medic', 'security officer', 'salvager'],
  features: ['grease-black fingers', 'a faded mission patch', 'a cybernetic eye', 'a jumpsuit patched at the knees'],
  events: ['The lights dim, flicker, and come back a shade redder.', 'A proximity alarm chirps twice and falls silent.', 'The deck shudders under your feet as something docks.', 'Every screen in the room shows the same word for a moment: LISTEN.'],
  goals: ['get the reactor stable', 'find out what the salvage crew brought aboard', 'earn passage home', 'hide a forged manifest'],
};

const mountain: SettingFlavour = {
  id: 'mountain',
  keywords: ['mountain', 'mountains', 'peak', 'snow', 'pass', 'cliff', 'glacier', 'alpine', 'ice', 'frozen', 'winter', 'monastery', 'highland'],
  places: ['the mountain pass', 'the shepherds\' hut', 'the frozen lake', 'the monastery gate', 'the rope bridge'],
  sights: ['snow blows off the ridge in long plumes', 'clouds drag across the peaks', 'ice glitters on the rocks', 'smoke rises from a lone chimney'],
  sounds: ['the moan of the wind', 'ice cracking far below', 'goat bells', 'your own breath'],
  smells: ['cold stone', 'pine smoke', 'snow'],
  objects: ['a frozen glove', 'an ice axe with a broken strap', 'a prayer flag torn loose', 'a climber\'s journal'],
  roles: ['shepherd', 'mountain guide', 'monk', 'trapper', 'smuggler', 'herder'],
  features: ['wind-burned cheeks', 'a fur hood', 'a staff of black wood', 'frost in the beard'],
  events: ['A rumble rolls down the slope: somewhere, snow has let go.', 'The cloud opens for a heartbeat and shows the summit.', 'A horn echoes from the monastery walls.', 'The wind drops into an uneasy stillness.'],
  goals: ['find the climbers lost in the storm', 'get the herd down before winter', 'keep the pass closed', 'reach the summit shrine'],
};

const underground: SettingFlavour = {
  id: 'underground',
  keywords: ['dungeon', 'cave', 'caves', 'cavern', 'mine', 'mines', 'crypt', 'catacomb', 'catacombs', 'tunnel', 'tunnels', 'underground', 'sewer', 'sewers', 'tomb', 'labyrinth'],
  places: ['the flooded gallery', 'the collapsed shaft', 'the bone chamber', 'the old miners\' camp', 'the chasm bridge'],
  sights: ['water drips from the ceiling', 'your light barely reaches the walls', 'old carvings cover the stone', 'shadows jump as the flame wavers'],
  sounds: ['dripping water', 'stone grinding somewhere below', 'a faint echo of footsteps', 'the scrape of claws'],
  smells: ['damp stone', 'old smoke', 'something long dead'],
  objects: ['a miner\'s helmet', 'a rusted key', 'a chalk mark on the wall', 'a broken lantern', 'a pouch of strange coins'],
  roles: ['miner', 'tomb robber', 'lamp carrier', 'cartographer', 'scavenger'],
  features: ['soot-black hands', 'a lamp strapped to the brow', 'a pick over one shoulder', 'eyes used to the dark'],
  events: ['Dust sifts from the ceiling, and the whole tunnel shivers.', 'Your flame bends toward a draught that should not be there.', 'Far below, something heavy drops into water.', 'A whisper runs along the walls and fades.'],
  goals: ['find the lost seam', 'map the lower galleries', 'get out before the water rises', 'recover a dead friend\'s belongings'],
};

export const genericFlavour: SettingFlavour = {
  id: 'generic',
  keywords: [],
  places: ['the crossroads', 'the old inn', 'the village green', 'the bridge over the river', 'the abandoned mill'],
  sights: ['the light is beginning to fade', 'a cart stands abandoned by the road', 'clouds gather in the west', 'people glance at you and look away'],
  sounds: ['a dog barking', 'distant voices', 'the wind in the eaves', 'a door banging'],
  smells: ['woodsmoke', 'rain on dry ground', 'baking bread'],
  objects: ['a folded note', 'a tarnished locket', 'a worn map', 'a key with no lock'],
  roles: ['traveller', 'innkeeper', 'farmer', 'courier', 'tinker', 'elder'],
  features: ['a patched coat', 'a steady gaze', 'a walking stick', 'a nervous laugh'],
  events: ['A rider gallops past without slowing.', 'The church bell rings out of turn.', 'Someone screams, and then there is silence.', 'The first drops of rain begin to fall.'],
  goals: ['find a missing sister', 'settle an old score', 'keep the village safe', 'leave this place for good'],
};

const flavours: readonly SettingFlavour[] = [harbour, space, castle, underground, desert, mountain, forest, city];

/** The flavour whose keywords the setting mentions most; the generic one if none. */
export function detectFlavour(setting: string): SettingFlavour {
  const words = setting.toLowerCase().match(/[a-z][a-z'-]*/g) ?? [];
  let best = genericFlavour;
  let bestScore = 0;
  for (const flavour of flavours) {
    const score = words.filter((word) => flavour.keywords.some((keyword) => word === keyword || word === `${keyword}s` || word === `${keyword}es`)).length;
    if (score > bestScore) {
      best = flavour;
      bestScore = score;
    }
  }
  return best;
}
