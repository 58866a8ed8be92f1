/** Deterministic everyday story memories, none about swords, blades or weapons: distractors for retrieval tests. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SUBJECTS = [
  'The old fisherman', 'My aunt', 'A young clerk', 'The baker', 'Hanna', 'The captain', 'Her brother',
  'The innkeeper', 'A traveller', 'The miller', 'Our neighbour', 'The schoolteacher', 'Marek',
  'The merchant', 'A shepherd', 'The harbour master', 'Grandmother', 'The cook', 'A farmer', 'The postman',
];
// Everyday story events; nothing about swords, blades or weapons.
const EVENTS = [
  'watched the rain fall on the roof', 'waited for the fog to lift', 'complained about the cold wind',
  'felt the first snow of winter', 'sat in the sun after the storm', 'saw lightning over the hills',
  'baked bread before sunrise', 'cooked a pot of bean soup', 'bought apples and cheese',
  'poured tea for the guests', 'burned the onions again', 'shared a pie with the children',
  'boarded the train to the coast', 'lost the map on the road', 'rode a cart to the next village',
  'missed the morning coach', 'walked across the bridge', 'rented a room above the tavern',
  'sold wool at the market', 'haggled over the price of fish', 'counted coins behind the stall',
  'opened a new shop on the square', 'paid the debt to the grocer', 'weighed flour for a customer',
  'watched the ship leave the harbour', 'mended the torn sail', 'tied the boat to the pier',
  'loaded barrels onto the deck', 'saw the lighthouse through the mist', 'rowed out past the reef',
  'wrote a long letter home', 'received a parcel from the city', 'read the newspaper aloud',
  'sealed an envelope with wax', 'forgot to post the letter', 'kept a diary of the journey',
  'planted beans in the garden', 'fed the goats in the barn', 'closed the gate behind the sheep',
  'picked cherries in the orchard', 'painted the kitchen door blue', 'fixed the leaking roof',
  'sang an old song at the wedding', 'played the fiddle at the dance', 'drew a map of the valley',
  'laughed at the clown in the fair', 'taught the children to count', 'swept the floor of the chapel',
  'knitted a scarf for the winter', 'washed the linen in the river',
];
const TIMES = [
  'on Monday', 'at dawn', 'before supper', 'last spring', 'in the evening', 'after the festival',
  'during the harvest', 'on a quiet afternoon', 'the day before the wedding', 'at noon',
];

/** 1,000 distinct, deterministic everyday memories. */
export function generateUnrelatedMemories(count: number): string[] {
  const random = mulberry32(20240611);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const memories = new Set<string>();
  while (memories.size < count) memories.add(`${pick(SUBJECTS)} ${pick(EVENTS)} ${pick(TIMES)}.`);
  return [...memories];
}

