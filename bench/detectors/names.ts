// Synthetic name pools for the benchmark and tests. Common forenames and surnames of children in
// English schools (including accented and apostrophe forms), combined at random: synthetic people,
// not real ones. Extra surnames are made from syllables so a 50,000-pupil trust has a realistic
// number of distinct surnames (about 10,000).

export const FORENAMES = `Oliver George Noah Arthur Harry Leo Muhammad Jack Charlie Oscar Jacob Henry Thomas Freddie
Alfie Theo William Theodore Archie Joshua Alexander James Isaac Edward Lucas Tommy Finley Max Logan Ethan Mohammed
Teddy Benjamin Arlo Joseph Sebastian Harrison Elijah Adam Daniel Samuel Louie Mason Reuben Albie Rory Jaxon Hugo
Luca Zachary Reggie Hunter Louis Dylan Albert David Jude Frankie Roman Ezra Toby Riley Carter Ronnie Frederick Gabriel
Stanley Bobby Jesse Michael Elliot Grayson Mohammad Liam Jenson Ellis Harley Harvey Jayden Jake Ralph Rowan Elliott
Jasper Ollie Charles Finn Felix Caleb Chester Jackson Hudson Leon Ibrahim Ryan Blake Olivia Amelia Isla Ava Ivy Freya
Lily Florence Mia Willow Rosie Sophia Isabella Grace Daisy Sienna Poppy Elsie Emily Ella Evelyn Phoebe Sofia Evie
Charlotte Harper Millie Matilda Maya Sophie Alice Emilia Isabelle Ruby Luna Maisie Aria Penelope Mila Bonnie Eva Hallie
Eliza Ada Violet Esme Arabella Imogen Jessica Delilah Thea Layla Rose Mabel Lottie Ayla Margot Zara Hannah Harriet
Orla Iris Aurora Chloe Lucy Nancy Emma Sophie Holly Robyn Maryam Aisha Fatima Zainab Amira Hafsa Inaya Anaya Priya
Aarav Arjun Rohan Vihaan Kabir Ishaan Reyansh Aditya Simran Navdeep Harpreet Gurpreet Jaspreet Oluwaseun Chidi
Adebayo Chiamaka Ngozi Tobi Ayomide Kwame Kofi Abena Yaw Zoë Chloë Noël Renée Siobhán Niamh Aoife Saoirse Caoimhe
Seán Ciarán Oisín Róisín Éabha Pádraig Łukasz Zofia Wiktoria Jakub Szymon Kacper Michał Małgorzata Agnieszka Tomasz
Mateusz Oliwia Zuzanna Dawid José María Inés Lucía Andrés Nicolás Iñaki Björn Søren Åsa Dóra Gergő Réka Ştefan Ioana
Mihai Andreea Bogdan Yusuf Emre Elif Zeynep Hüseyin Ayşe Mehmet Özlem Nguyễn Thảo Minh Anh Huy Wei Jun Mei Xin Hao
Mary-Jane Anne-Marie Jean-Luc Lily-Rose Ella-Mae Mia-Rose Rosie-May Summer Hope May Will Faith Joy Autumn Storm
Sky River Heather Hazel Jade Amber Ruby Pearl Dawn April June Hunter Mason Chase Drew Grant Rich Mark Bill Pat
`.split(/\s+/).filter(Boolean);

export const SURNAMES = `Smith Jones Williams Taylor Brown Davies Evans Wilson Thomas Johnson Roberts Robinson Thompson
Wright Walker White Edwards Hughes Green Hall Lewis Harris Clarke Patel Jackson Wood Turner Martin Cooper Hill Ward
Morris Moore Clark Lee King Baker Harrison Morgan Allen James Scott Phillips Watson Davis Parker Price Bennett Young
Griffiths Mitchell Kelly Cook Carter Richardson Bailey Collins Bell Shaw Murphy Miller Cox Richards Khan Marshall
Anderson Simpson Ellis Adams Singh Begum Wilkinson Foster Chapman Powell Webb Rogers Gray Mason Ali Hunt Hussain
Campbell Matthews Owen Palmer Holmes Mills Barnes Knight Lloyd Butler Russell Barker Fisher Stevens Jenkins Murray
Dixon Harvey Graham Pearson Ahmed Fletcher Walsh Kaur Gibson Howard Andrews Stewart Elliott Reynolds Saunders Payne
Fox Ford Pearce Day Brooks West Lawrence Cole Atkinson Bradley Spencer Gill Dawson Ball Burton O'Brien Watts Rose
Booth Perry Ryan Grant Wells Armstrong Francis Rees Hayes Hart Hudson Newman Barrett Webster Hunter Gregory Carr
Lowe Page Marsh Riley Dunn Woods Parsons Berry Stone Reid Holland Hawkins Harding Porter Robertson Newton Oliver
Reed Kennedy Williamson Bird Gardner Shah Dean Lane Cooke Bates Henderson Parry Burgess Bishop Walton Burns Nicholson
Shepherd Ross Cross Long Freeman Warren Nicholls Hamilton Byrne Sutton McDonald Yates Hodgson Robson Curtis Hopkins
O'Connor Harper Coleman Watkins Moss McCarthy Chambers O'Neill Griffin Sharp Hardy Wheeler Potter Osborne Johnston
Gordon Doyle Wallace George Jordan Hutchinson Rahman Akhtar Iqbal Hossain Uddin Miah Chowdhury Islam Mahmood Sharma
Kumar Gupta Mistry Chauhan Okafor Okonkwo Adeyemi Oyelaran Mensah Boateng Asante Owusu Nwosu Eze Kowalski
Nowak Wiśniewski Wójcik Kowalczyk Kamiński Lewandowski Zieliński Szymański Woźniak Dąbrowski García Martínez
López Fernández González Rodríguez Pérez Sánchez Müller Schröder Jörgensen Øberg Nguyễn Trần Lê Phạm Wang Li
Zhang Chen Liu Yılmaz Kaya Demir Şahin Çelik Popescu Ionescu Smith-Jones Lloyd-Williams Ahmed-Khan D'Souza
Fitzgerald MacDonald McLaughlin
`
  .split(/\s+/)
  .filter(Boolean)
  .concat(['Van der Berg', 'De Souza', 'Ó Súilleabháin']);

const SYL_A = ['Ash', 'Brad', 'Cal', 'Dun', 'El', 'Fair', 'Gal', 'Hal', 'Ken', 'Lang', 'Mar', 'Nor', 'Ol', 'Pen', 'Rad', 'Stan', 'Thorn', 'Wen', 'Bram', 'Cors', 'Dray', 'Elm', 'Fen', 'Gos', 'Hart', 'Kirk', 'Lox', 'Mor', 'Ness', 'Ox', 'Prest', 'Quen', 'Rom', 'Shel', 'Tal', 'Ux', 'Ver', 'Wyn', 'Yar', 'Zel'];
const SYL_B = ['bridge', 'worth', 'ford', 'ley', 'ton', 'by', 'combe', 'ham', 'hurst', 'field', 'wick', 'stead', 'shaw', 'more', 'dale', 'well', 'croft', 'gate', 'land', 'thorpe', 'low', 'den', 'holm', 'mere', 'stock', 'wold', 'cott', 'bury', 'sey', 'ridge'];
const SYL_C = ['', 'e', 'er', 'son', 's', 'an', 'ell', 'ing'];

/** Deterministic PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)];
}

/** Surnames: the common list, then syllable-made ones, up to `count` distinct. */
export function surnamePool(count: number): string[] {
  const out = [...new Set(SURNAMES)];
  for (const a of SYL_A) for (const b of SYL_B) for (const c of SYL_C) {
    if (out.length >= count) return out;
    out.push(a + b + c);
  }
  return out;
}

export interface SyntheticPupil {
  legalForename: string;
  legalSurname: string;
  preferredForename?: string;
  upn: string;
  dob: string;
  year: string;
  form: string;
  contacts: string[];
}
