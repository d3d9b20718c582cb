// Word lists for the sample generator. Contact details are obviously fake: emails at example.com,
// phones in the +49 151 0000xxxx range, push endpoints at push.example.com.

export const FIRST_NAMES = [
  'Anna', 'Ben', 'Clara', 'David', 'Emma', 'Felix', 'Greta', 'Hannah', 'Ivan', 'Julia', 'Karim', 'Lena', 'Mia',
  'Noah', 'Olivia', 'Paul', 'Quinn', 'Rosa', 'Sofia', 'Tom', 'Uma', 'Victor', 'Wiebke', 'Xavier', 'Yuki', 'Zoe',
  'Amelia', 'Oliver', 'Isla', 'Jack', 'Harry', 'Grace', 'Liam', 'Ava', 'Ethan', 'Chloe', 'Lucas', 'Camille',
  'Louis', 'Ines', 'Daan', 'Sanne', 'Haruto', 'Sakura', 'Ren', 'Hina', 'Mateo', 'Lucia', 'Jose', 'Carmen',
  'Charlotte', 'William', 'Aarav', 'Priya', 'Arjun', 'Diya', 'Gabriel', 'Beatriz', 'Leon', 'Marie',
];

/** Country, its share of customers, and time zones with their rough UTC offset in hours (for daytime). */
export const COUNTRIES: readonly { code: string; weight: number; zones: readonly [string, number][] }[] = [
  { code: 'DE', weight: 34, zones: [['Europe/Berlin', 1]] },
  { code: 'GB', weight: 18, zones: [['Europe/London', 0]] },
  { code: 'US', weight: 15, zones: [['America/New_York', -5], ['America/Chicago', -6], ['America/Los_Angeles', -8]] },
  { code: 'FR', weight: 8, zones: [['Europe/Paris', 1]] },
  { code: 'NL', weight: 6, zones: [['Europe/Amsterdam', 1]] },
  { code: 'ES', weight: 5, zones: [['Europe/Madrid', 1]] },
  { code: 'JP', weight: 5, zones: [['Asia/Tokyo', 9]] },
  { code: 'AU', weight: 3, zones: [['Australia/Sydney', 10]] },
  { code: 'IN', weight: 3, zones: [['Asia/Kolkata', 5.5]] },
  { code: 'BR', weight: 3, zones: [['America/Sao_Paulo', -3]] },
];

export const CATEGORIES = ['apparel', 'shoes', 'accessories', 'home', 'beauty', 'sports', 'books', 'toys'] as const;

export const PRODUCT_WORDS: Record<(typeof CATEGORIES)[number], { nouns: string[]; median: number }> = {
  apparel: { nouns: ['T-Shirt', 'Hoodie', 'Jacket', 'Dress', 'Jeans', 'Sweater', 'Shirt', 'Skirt'], median: 39 },
  shoes: { nouns: ['Sneakers', 'Boots', 'Sandals', 'Loafers', 'Trainers'], median: 79 },
  accessories: { nouns: ['Scarf', 'Cap', 'Belt', 'Wallet', 'Backpack', 'Sunglasses', 'Watch'], median: 29 },
  home: { nouns: ['Mug', 'Candle', 'Blanket', 'Cushion', 'Vase', 'Lamp', 'Plant Pot'], median: 24 },
  beauty: { nouns: ['Face Cream', 'Shampoo', 'Lip Balm', 'Perfume', 'Body Lotion', 'Soap'], median: 16 },
  sports: { nouns: ['Yoga Mat', 'Water Bottle', 'Running Belt', 'Gym Bag', 'Dumbbells'], median: 34 },
  books: { nouns: ['Cookbook', 'Novel', 'Travel Guide', 'Notebook', 'Planner'], median: 18 },
  toys: { nouns: ['Puzzle', 'Board Game', 'Plush Bear', 'Building Set', 'Kite'], median: 27 },
};

export const ADJECTIVES = [
  'Classic', 'Organic', 'Everyday', 'Vintage', 'Nordic', 'Urban', 'Cosy', 'Bold', 'Soft', 'Linen', 'Recycled',
  'Travel', 'Mini', 'Essential', 'Bright', 'Midnight', 'Alpine', 'Coastal', 'Studio', 'Heritage',
];

/** Relative chance of activity per local hour 0..23 (evening peak, little at night). */
export const HOUR_WEIGHTS = [1, 0.5, 0.3, 0.2, 0.2, 0.4, 1, 2, 3, 4, 4.5, 5, 6, 5.5, 5, 5, 5.5, 6.5, 8, 9.5, 10, 9, 6, 3];
