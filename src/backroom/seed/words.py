"""Small vocabularies the demo data is composed from (no Faker: a few hundred words
give names, addresses and descriptions that read naturally at any volume)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Leaf:
    """A leaf category products go into: what they are called and cost."""

    name: str
    code: str  # SKU prefix
    kind: str  # picks the materials, attributes and blurbs below
    nouns: tuple[str, ...]
    price_cents: tuple[int, int]  # drawn log-uniformly between the two


# (top-level name, description, leaves)
TREE: tuple[tuple[str, str, tuple[Leaf, ...]], ...] = (
    ("Apparel", "Clothes for every day and every season.", (
        Leaf("Tops", "TOP", "apparel",
             ("T-Shirt", "Polo Shirt", "Henley", "Flannel Shirt", "Sweater", "Hoodie"),
             (1_500, 9_000)),
        Leaf("Bottoms", "BTM", "apparel",
             ("Chinos", "Jeans", "Joggers", "Shorts", "Cargo Pants"), (2_500, 12_000)),
        Leaf("Outerwear", "OTW", "apparel",
             ("Rain Jacket", "Puffer Vest", "Fleece Jacket", "Parka", "Windbreaker"),
             (5_000, 35_000)),
        Leaf("Accessories", "ACC", "apparel",
             ("Beanie", "Scarf", "Belt", "Cap", "Gloves", "Socks"), (800, 6_000)),
    )),
    ("Home & Kitchen", "Cook, serve, store and settle in.", (
        Leaf("Cookware", "CKW", "kitchen",
             ("Skillet", "Saucepan", "Dutch Oven", "Wok", "Stockpot"), (2_500, 25_000)),
        Leaf("Tableware", "TBL", "kitchen",
             ("Mug", "Plate Set", "Bowl", "Tumbler", "Carafe"), (800, 8_000)),
        Leaf("Storage", "STO", "kitchen",
             ("Canister", "Bento Box", "Spice Rack", "Bread Bin"), (1_000, 6_000)),
        Leaf("Decor", "DEC", "home",
             ("Throw Pillow", "Candle", "Vase", "Wall Clock", "Blanket"), (1_200, 15_000)),
    )),
    ("Outdoor", "Gear for trails, campsites and roads.", (
        Leaf("Camping", "CMP", "outdoor",
             ("Tent", "Sleeping Bag", "Camp Stove", "Lantern", "Camp Chair"), (2_000, 60_000)),
        Leaf("Hiking", "HIK", "outdoor",
             ("Daypack", "Trekking Poles", "Water Bottle", "Headlamp"), (1_500, 20_000)),
        Leaf("Cycling", "CYC", "outdoor",
             ("Bike Light", "Saddle Bag", "Helmet", "Bike Lock"), (1_500, 25_000)),
    )),
    ("Electronics", "Sound, power and a smarter home.", (
        Leaf("Audio", "AUD", "electronics",
             ("Headphones", "Earbuds", "Speaker", "Turntable"), (2_000, 40_000)),
        Leaf("Charging", "CHG", "electronics",
             ("Power Bank", "USB-C Charger", "Charging Cable", "Wireless Charger"),
             (1_000, 8_000)),
        Leaf("Smart Home", "SMH", "electronics",
             ("Smart Plug", "Smart Bulb", "Thermostat", "Doorbell Camera"), (1_500, 25_000)),
    )),
    ("Books & Stationery", "Things to read and things to write in.", (
        Leaf("Books", "BOK", "paper",
             ("Field Guide", "Cookbook", "Atlas", "Travel Guide", "Novel"), (900, 6_000)),
        Leaf("Stationery", "STN", "paper",
             ("Notebook", "Fountain Pen", "Planner", "Sketchbook"), (500, 9_000)),
    )),
)  # fmt: skip

ADJECTIVES = (
    "Classic", "Everyday", "Essential", "Premium", "Lightweight", "Heavy-Duty", "Compact",
    "Vintage", "Modern", "Rugged", "Slim", "Ultralight", "Deluxe", "Travel", "Organic",
    "Recycled", "Handmade", "Weekend", "Urban", "Alpine", "Coastal", "Nordic", "Studio",
)  # fmt: skip

MATERIALS: dict[str, tuple[str, ...]] = {
    "apparel": ("Cotton", "Merino", "Linen", "Denim", "Fleece", "Canvas", "Corduroy", "Wool"),
    "kitchen": ("Cast Iron", "Stainless", "Ceramic", "Stoneware", "Glass", "Enamel", "Copper"),
    "home": ("Linen", "Wool", "Ceramic", "Oak", "Walnut", "Brass", "Rattan"),
    "outdoor": ("Ripstop", "Aluminum", "Titanium", "Nylon", "Carbon", "Waxed Canvas"),
    "electronics": ("Aero", "Pulse", "Nova", "Volt", "Echo", "Flux", "Orbit"),  # brand-like
    "paper": ("Pocket", "Illustrated", "Hardcover", "Dotted", "Leather", "Spiral"),
}

BLURBS: dict[str, tuple[str, ...]] = {
    "apparel": ("Cut for comfort and made to be worn often.",
                "Pre-washed, so it keeps its shape and size.",
                "Breathable, soft, and easy to layer."),
    "kitchen": ("Goes from the stove to the table.", "Easy to clean and built to last.",
                "Heats evenly and holds its temperature."),
    "home": ("Adds warmth to any room.", "Designed in small batches.",
             "Pairs well with natural materials."),
    "outdoor": ("Tested on long trails in all weather.", "Packs small and weighs little.",
                "Repairable, with a lifetime warranty."),
    "electronics": ("Charges over USB-C.", "Pairs in seconds and remembers your devices.",
                    "Two years of warranty and free firmware updates."),
    "paper": ("Printed on acid-free paper.", "Lies flat when open.",
              "A favourite of readers and travellers alike."),
}  # fmt: skip

CLOSERS = (
    "Ships within one business day.", "Free returns within 30 days.",
    "A customer favourite.", "Limited run.", "Made to order in small batches.",
)  # fmt: skip

COLORS = ("black", "white", "navy", "olive", "sand", "grey", "rust", "forest", "sky")
SIZES = ("XS", "S", "M", "L", "XL", "XXL")
CARRIERS = ("UPS", "USPS", "FedEx", "DHL")

FIRST_NAMES = (
    "Ava", "Ben", "Chloe", "Daniel", "Elena", "Felix", "Grace", "Hugo", "Isla", "Jonas",
    "Kira", "Liam", "Maya", "Noah", "Olivia", "Pablo", "Quinn", "Rosa", "Samir", "Tara",
    "Umar", "Vera", "Wei", "Ximena", "Yusuf", "Zoe", "Amara", "Bruno", "Clara", "Dev",
    "Emil", "Fatima", "Gabriel", "Hana", "Ivan", "Julia", "Kenji", "Lena", "Mateo", "Nina",
)  # fmt: skip
LAST_NAMES = (
    "Smith", "Garcia", "Müller", "Nguyen", "Johnson", "Kowalski", "Rossi", "Okafor", "Kim",
    "Silva", "Dubois", "Jensen", "Patel", "Cohen", "Andersson", "Tanaka", "Brown", "Lopez",
    "Novak", "Schmidt", "Martin", "Ahmed", "Costa", "Walsh", "Moreau", "Berg", "Ivanova",
    "Chen", "Haddad", "Fischer", "Reyes", "Sato", "Baker", "Horvat", "Lindqvist", "Murphy",
)  # fmt: skip
STREETS = (
    "Maple", "Oak", "Cedar", "Elm", "Pine", "Lake", "Hill", "Park", "River", "Church",
    "Mill", "Station", "Harbor", "Willow", "Sunset", "Meadow", "Highland", "Bridge",
)  # fmt: skip
STREET_KINDS = ("St", "Ave", "Rd", "Ln", "Way", "Blvd", "Ct")

# (city, region or "", ISO country, postal pattern: # = digit, @ = letter); the US is
# listed more often because most demo customers are there.
PLACES: tuple[tuple[str, str, str, str], ...] = (
    ("Portland", "OR", "US", "972##"), ("Austin", "TX", "US", "787##"),
    ("Chicago", "IL", "US", "606##"), ("Denver", "CO", "US", "802##"),
    ("Brooklyn", "NY", "US", "112##"), ("Seattle", "WA", "US", "981##"),
    ("Atlanta", "GA", "US", "303##"), ("Boston", "MA", "US", "021##"),
    ("San Diego", "CA", "US", "921##"), ("Minneapolis", "MN", "US", "554##"),
    ("Toronto", "ON", "CA", "M@@ #@#"), ("Vancouver", "BC", "CA", "V@@ #@#"),
    ("London", "", "GB", "@@# #@@"), ("Manchester", "", "GB", "M# #@@"),
    ("Berlin", "", "DE", "10###"), ("Munich", "", "DE", "80###"),
    ("Lyon", "", "FR", "690##"), ("Amsterdam", "", "NL", "10## @@"),
    ("Melbourne", "VIC", "AU", "3###"), ("Dublin", "", "IE", "D## @###"),
)  # fmt: skip
