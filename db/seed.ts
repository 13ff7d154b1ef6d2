/** The demo restaurant: a small realistic menu and some inventory. */
import type { Store } from "./store.ts";

const DEMO_MENU = [
  // Items 1 and 2 come first: the original concurrency test orders them.
  {
    name: "Margherita Pizza",
    category: "Pizza",
    price: 12.5,
    stock: null,
    description: "Tomato, mozzarella, basil",
  },
  {
    name: "Caesar Salad",
    category: "Starters",
    price: 8.75,
    stock: null,
    description: "Romaine, parmesan, croutons",
  },
  {
    name: "Diavola Pizza",
    category: "Pizza",
    price: 14,
    stock: null,
    description: "Spicy salami, chili oil",
  },
  {
    name: "Truffle Risotto",
    category: "Mains",
    price: 18.9,
    stock: 20,
    description: "Carnaroli, black truffle",
  },
  {
    name: "Grilled Sea Bass",
    category: "Mains",
    price: 22,
    stock: 12,
    description: "Lemon, capers, greens",
  },
  {
    name: "Bruschetta",
    category: "Starters",
    price: 6.5,
    stock: null,
    description: "Tomato, garlic, basil",
  },
  {
    name: "Tiramisu",
    category: "Desserts",
    price: 7,
    stock: 15,
    description: "House-made",
  },
  {
    name: "Panna Cotta",
    category: "Desserts",
    price: 6.5,
    stock: null,
    description: "Berry coulis",
  },
  {
    name: "Espresso",
    category: "Drinks",
    price: 2.5,
    stock: null,
    description: "",
  },
  {
    name: "Lemonade",
    category: "Drinks",
    price: 3.8,
    stock: null,
    description: "Fresh, still",
  },
];

const DEMO_INVENTORY = [
  { name: "Mozzarella", quantity: 40, unit: "kg", lowThreshold: 8 },
  {
    name: "San Marzano tomatoes",
    quantity: 60,
    unit: "cans",
    lowThreshold: 12,
  },
  { name: "Carnaroli rice", quantity: 25, unit: "kg", lowThreshold: 5 },
  { name: "Espresso beans", quantity: 12, unit: "kg", lowThreshold: 3 },
  { name: "Lemons", quantity: 80, unit: "pcs", lowThreshold: 20 },
];

/** Adds the demo menu and inventory; `reset` wipes the database first. */
export async function seedDemo(
  store: Store,
  opts: { reset?: boolean } = {},
): Promise<void> {
  if (opts.reset) await store.wipe();
  for (const m of DEMO_MENU) {
    await store.createMenuItem({
      name: m.name,
      description: m.description,
      priceCents: Math.round(m.price * 100),
      category: m.category,
      available: true,
      stock: m.stock,
    });
  }
  for (const i of DEMO_INVENTORY) await store.createInventoryItem(i);
}

/** Seeds the demo data only into an empty database (first start). */
export async function seedIfEmpty(store: Store): Promise<boolean> {
  if ((await store.listMenu()).length > 0) return false;
  if ((await store.lastEventId()) > 0) return false;
  await seedDemo(store);
  return true;
}
