// Names that are also ordinary English words. A pupil called Grace, Hope or Will must never be
// "found" because a letter says "by the grace of", "we hope" or "we will": on their own these
// words produce no signal unless written with a capital letter in the middle of a sentence, and
// a full name made only of such words (Will Young, Rose Hill) is only a strong match when it is
// capitalised. Folded (lower case, no diacritics). Extend freely: this is data, not logic.

export const ORDINARY_WORD_NAMES: readonly string[] = `
a able abbey ace acre acres adder admiral air alder all alley alpha amber an and angel angle
apple april arch archer arrow art ash aspen august aura autumn baker bank banks barber bark
barley barn barns baron barr bass bay beach beam bear bell bells belle berry best bill birch bird
bishop black blade blaze bliss bloom blossom blue bond boss bough bow bowman boy brain bramble
branch brave bread brick bridge bright brook brooke brooks broom brown buck bud bull bunny bush
butcher butler button cake camp candy cannon canon cape captain card cash castle cave chance
chapel chapman chase cherry chess chief child christmas church clay clear cliff clover coal coat
cole collar comfort cook cool cooper copper coral corn cotton cove crane cross crow crown
crystal cupid curtain cutter daisy dale dart dash dawn day dean dear dell diamond dove down drake
draper drew dust dusty eagle earl early east echo eden elder ember english ever fair faith falcon
fall farmer fawn fear fellow fern field fields finch fine fish fisher fleet flint flora flower
flowers ford forest fort fortune fox frank free friend frost fry fuller gale game garden gardner
gem gentle gift glass glen glory gold golden goode grace grain grant gray green greene grey grove
guy hail hale hall hammer hand hardy harmony harper harvest hatch haven hawk hay hazel heart heath
heather hedge herald heron hill hills holly holy honey hood hook hope horn house hunt
hunter husband iris iron ivory ivy jack jade jay jet jewel joy judge june jupiter just keen key
king kingdom kite knight lace lake lamb land lane lark laurel law lawn leaf lee legend lemon liberty
light lily lime link lion little lock locke long lord lotus love lovely lucky mace major maple march
marsh mason master may mayo meadow means mellow merry mild miles mill miller mills mint miracle
mist moon moore moss mountain nash neat new newman noble north norman nurse oak oaks ocean
olive onion orange orchard paige page palmer pardon park parker parks parrot parsons patience peace
peach pear pearl penny pepper petal pike pine piper plant plum pool poole pope poppy porter
potter power price pride prince prosper quail queen rain raven ray read reading reed reeve
rich rider ridge ring river robin rock rose rosemary rowan royal ruby rush rust sable sage sail
saint salmon sandy savage scout sea season shadow sharp shepherd shore short silver sky slate
small smart snow soul south spark sparrow speed spencer spring squire stag star steel sterling
stern stock stone storm story strong summer sun sunny sunshine swain swan sweet swift tailor tanner
taylor temple thorn tiger tower trinity true truth tucker turner union unity vale valley
verity vine violet wade walker wall walls ward warden warner warren wash waters watt wave way weaver
webb well wells west wheeler white whyte wild will willow wilde wing winter wise wolf wood woods
wren wright yard york young
am an as at be by do go he hi if in is it me my no of oh on or so to up us we
`
  .split(/\s+/)
  .filter(Boolean);

/** Titles that mark an adult: "Mrs Smith" is a parent or a teacher, not a pupil. */
export const ADULT_TITLES: readonly string[] = ['mr', 'mrs', 'ms', 'miss', 'mx', 'dr', 'sir', 'dame', 'prof', 'rev', 'lady', 'lord'];
