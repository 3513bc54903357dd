// The console's one stylesheet, served from /static/console.css (the CSP allows styles from our
// own origin only; no inline styles anywhere). Plain, high-contrast, GOV.UK-like: the yellow focus
// ring, black text on white, blue links, red only for what is urgent. Contrast ratios ≥ 4.5:1.
export const CONSOLE_CSS = `
*,*::before,*::after{box-sizing:border-box}
html{font-size:100%;-webkit-text-size-adjust:100%}
body{margin:0;font-family:"Segoe UI",Arial,"Helvetica Neue",sans-serif;font-size:1rem;line-height:1.45;color:#0b0c0c;background:#f3f2f1}
a{color:#1d4f91;text-underline-offset:.15em}
a:visited{color:#4c2c92}
a:hover{color:#003078}
:focus-visible{outline:3px solid #ffbf47;outline-offset:0;box-shadow:0 0 0 5px #0b0c0c}
a:focus-visible{background:#ffdd00;color:#0b0c0c;outline:none;box-shadow:0 -2px #ffdd00,0 4px #0b0c0c;text-decoration:none}
.skip{position:absolute;left:-9999px;top:0}
.skip:focus{left:1rem;top:.5rem;z-index:10;padding:.5rem 1rem;background:#ffdd00;color:#0b0c0c}
header.top{background:#1d2b4f;color:#fff;border-bottom:6px solid #3d7cc9}
header.top .bar{max-width:80rem;margin:0 auto;padding:.6rem 1.25rem;display:flex;flex-wrap:wrap;align-items:center;gap:.5rem 1.5rem}
header.top .brand{font-weight:700;font-size:1.2rem;color:#fff;text-decoration:none;letter-spacing:.01em}
header.top .brand span{font-weight:400;opacity:.9;font-size:1rem;margin-left:.5rem}
header.top nav{order:3;flex-basis:100%}
header.top nav ul{list-style:none;margin:0 0 0 -.7rem;padding:0;display:flex;flex-wrap:wrap;gap:.25rem}
header.top nav a{display:block;color:#fff;text-decoration:none;padding:.35rem .7rem;border-radius:3px}
header.top nav a:hover{background:#2f4271}
header.top nav a[aria-current="page"]{background:#fff;color:#1d2b4f;font-weight:600}
header.top nav a:focus-visible{background:#ffdd00;color:#0b0c0c}
header.top .who{margin-left:auto;display:flex;align-items:center;gap:.75rem;font-size:.95rem}
header.top .who form{margin:0}
header.top .who button{background:transparent;color:#fff;border:1px solid #c8d3ea;padding:.3rem .7rem;border-radius:3px;font:inherit;cursor:pointer}
header.top .who button:hover{background:#2f4271}
main{max-width:80rem;margin:0 auto;padding:1.25rem 1.25rem 3rem}
h1{font-size:1.75rem;margin:.25rem 0 1rem;line-height:1.2}
h2{font-size:1.3rem;margin:1.75rem 0 .75rem}
h3{font-size:1.1rem;margin:1.25rem 0 .5rem}
p.lead{font-size:1.1rem;margin-top:-.25rem;color:#383f43}
.muted{color:#505a5f}
.panel{background:#fff;border:1px solid #b1b4b6;border-radius:4px;padding:1rem 1.25rem;margin:0 0 1.25rem}
.panel>h2:first-child,.panel>h3:first-child{margin-top:0}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(15rem,1fr));gap:1rem}
.notice{border-left:6px solid #00703c;background:#e8f4ee;padding:.75rem 1rem;margin:0 0 1.25rem}
.notice.error{border-color:#b3261e;background:#fbe9e7}
.notice.warn{border-color:#a35d00;background:#fff4d6}
table{border-collapse:collapse;width:100%;background:#fff}
caption{text-align:left;font-weight:700;padding:.25rem 0 .5rem}
th,td{text-align:left;vertical-align:top;padding:.5rem .6rem;border-bottom:1px solid #d8dadc}
thead th{background:#eef0f3;border-bottom:2px solid #0b0c0c;font-size:.95rem}
tbody tr:hover{background:#f8f8f8}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.table-wrap{overflow-x:auto;border:1px solid #b1b4b6;border-radius:4px}
.table-wrap table{border:0}
.badge{display:inline-block;padding:.1rem .5rem;border-radius:3px;font-size:.85rem;font-weight:600;border:1px solid transparent}
td .badge{margin:.1rem 0}
td.addr{overflow-wrap:break-word;min-width:9rem;max-width:16rem}
td.when{white-space:nowrap}
td.subj{min-width:10rem;max-width:20rem;overflow-wrap:anywhere}
nav.jump{margin:-.25rem 0 1rem;font-size:.95rem}
nav.jump a{margin-right:1rem}
.sev-5,.sev-4{background:#8a1c1c;color:#fff}
.sev-4{background:#b3261e}
.sev-3{background:#fff4d6;color:#6b3d00;border-color:#a35d00}
.sev-2,.sev-1,.sev-0{background:#eef0f3;color:#383f43;border-color:#b1b4b6}
.st-open{background:#1d4f91;color:#fff}
.st-released{background:#e8f4ee;color:#005a30;border-color:#00703c}
.st-rejected{background:#eef0f3;color:#383f43;border-color:#505a5f}
.st-reported-to-ico{background:#4c2c92;color:#fff}
.st-closed-no-breach{background:#eef0f3;color:#383f43;border-color:#b1b4b6}
.kind-near-miss{background:#fff;color:#383f43;border-color:#505a5f}
.breach{background:#8a1c1c;color:#fff}
.rules-list{margin:0;padding:0;list-style:none}
.rules-list li{margin:0 0 .15rem}
form.filters{display:flex;flex-wrap:wrap;gap:.75rem 1rem;align-items:flex-end}
form.filters .field{display:flex;flex-direction:column;gap:.2rem}
label{font-weight:600}
.hint{font-weight:400;color:#505a5f;font-size:.9rem}
input[type=text],input[type=password],input[type=date],input[type=number],input[type=search],select,textarea{font:inherit;padding:.4rem .5rem;border:2px solid #0b0c0c;border-radius:0;background:#fff;color:#0b0c0c;min-height:2.5rem}
textarea{width:100%;min-height:4.5rem;resize:vertical}
input:focus,select:focus,textarea:focus{outline:3px solid #ffbf47;outline-offset:0;box-shadow:inset 0 0 0 2px #0b0c0c}
.btn{display:inline-block;font:inherit;font-weight:600;padding:.5rem 1rem;border:0;border-radius:3px;background:#00703c;color:#fff;cursor:pointer;box-shadow:0 2px 0 #002d18;text-decoration:none;line-height:1.3}
.btn:hover{background:#005a30;color:#fff}
.btn.secondary{background:#eef0f3;color:#0b0c0c;box-shadow:0 2px 0 #929191}
.btn.secondary:hover{background:#dbdad9;color:#0b0c0c}
.btn.warning{background:#b3261e;box-shadow:0 2px 0 #55150e}
.btn.warning:hover{background:#8a1c1c}
.btn:focus-visible{background:#ffdd00;color:#0b0c0c;box-shadow:0 2px 0 #0b0c0c;outline:none}
.actions{display:grid;grid-template-columns:repeat(auto-fit,minmax(19rem,1fr));gap:1rem;align-items:start}
.actions form{background:#fff;border:1px solid #b1b4b6;border-top:5px solid #1d4f91;border-radius:4px;padding:.9rem 1rem;display:flex;flex-direction:column;gap:.5rem;margin:0}
.actions form.danger{border-top-color:#b3261e}
.actions form.good{border-top-color:#00703c}
.actions form h3{margin:0}
.actions form p{margin:0}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.35rem 1.25rem;margin:0}
dl.facts dt{font-weight:600;color:#383f43}
dl.facts dd{margin:0;overflow-wrap:anywhere}
.rule{border-left:5px solid #b3261e;padding:.25rem 0 .25rem 1rem;margin:0 0 1.25rem}
.rule.sev-low{border-color:#a35d00}
.rule h3{margin:.1rem 0 .35rem}
.rule .policy{font-style:italic;color:#383f43;margin:.35rem 0}
ul.findings{margin:.5rem 0 0;padding-left:1.2rem}
ul.findings li{margin:.3rem 0}
mark,.evidence{background:#ffdd00;color:#0b0c0c;padding:0 .15rem;font-weight:600}
.evidence{font-family:Consolas,"Courier New",monospace;font-weight:400;border:1px solid #c9a800}
pre.body{white-space:pre-wrap;overflow-wrap:anywhere;font-family:Consolas,"Courier New",monospace;font-size:.92rem;background:#fff;border:1px solid #b1b4b6;padding:1rem;margin:0;max-height:40rem;overflow:auto}
pre.headers{white-space:pre-wrap;overflow-wrap:anywhere;font-size:.85rem;background:#fbfbfb;border:1px solid #b1b4b6;padding:.75rem;max-height:30rem;overflow:auto}
iframe.viewer{width:100%;height:36rem;border:1px solid #b1b4b6;background:#fff;display:block;resize:vertical}
.viewer-tools{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center;margin:.5rem 0}
.clock{border:2px solid #8a1c1c;background:#fff;border-radius:4px;padding:.75rem 1rem}
.clock.overdue{background:#fbe9e7}
.clock.stopped{border-color:#505a5f}
.clock .left{font-size:1.5rem;font-weight:700;color:#8a1c1c}
.clock.stopped .left{color:#383f43}
.clock meter{width:100%;height:1rem}
.clocks{display:grid;grid-template-columns:repeat(auto-fit,minmax(17rem,1fr));gap:1rem;margin-bottom:1.5rem}
.counts{display:flex;flex-wrap:wrap;gap:.5rem;margin:.25rem 0 1rem;padding:0;list-style:none}
.counts a,.counts span{display:inline-block;border:1px solid #b1b4b6;background:#fff;border-radius:999px;padding:.2rem .75rem;font-size:.92rem;text-decoration:none;color:#0b0c0c}
.counts a[aria-current="true"]{background:#1d2b4f;color:#fff;border-color:#1d2b4f}
.counts b{font-variant-numeric:tabular-nums}
.stat{background:#fff;border:1px solid #b1b4b6;border-radius:4px;padding:.75rem 1rem}
.stat .n{display:block;font-size:2rem;font-weight:700;line-height:1.1}
.stat .l{color:#383f43}
svg.chart{max-width:100%;height:auto;background:#fff}
svg.chart .bar{fill:#1d4f91}
svg.chart .bar.alt{fill:#00703c}
svg.chart .axis{stroke:#0b0c0c;stroke-width:1}
svg.chart .grid{stroke:#d8dadc;stroke-width:1}
svg.chart text{font-family:"Segoe UI",Arial,sans-serif;font-size:12px;fill:#0b0c0c}
svg.chart text.value{font-weight:700}
.signin{max-width:26rem;margin:3rem auto;background:#fff;border:1px solid #b1b4b6;border-top:6px solid #1d2b4f;border-radius:4px;padding:1.5rem}
.signin form{display:flex;flex-direction:column;gap:.75rem}
.signin input{width:100%}
.pager{display:flex;gap:1rem;margin:1rem 0}
.ok{color:#005a30;font-weight:600}
.bad{color:#b3261e;font-weight:600}
details.more summary{cursor:pointer;color:#1d4f91;font-weight:600}
fieldset{border:0;padding:0;margin:0}
legend{font-weight:600;padding:0}
.radios{display:flex;flex-wrap:wrap;gap:.5rem 1rem}
.radios label{font-weight:400}
.visually-hidden{position:absolute!important;width:1px;height:1px;margin:0;padding:0;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap;border:0}
footer.foot{max-width:80rem;margin:0 auto;padding:1rem 1.25rem 2rem;color:#505a5f;font-size:.9rem}
@media (max-width:40rem){
main{padding:1rem .75rem 2rem}
h1{font-size:1.4rem}
.table-wrap{overflow-x:visible;border:0}
table.cards,table.cards tbody,table.cards tr,table.cards td{display:block;width:100%}
table.cards{background:transparent}
table.cards thead{position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%);white-space:nowrap}
table.cards tr{background:#fff;border:1px solid #b1b4b6;border-radius:4px;margin:0 0 .75rem;padding:.35rem .75rem}
table.cards td{border:0;padding:.3rem 0;max-width:none;min-width:0;overflow-wrap:anywhere}
table.cards td[data-label]::before{content:attr(data-label);display:block;font-size:.85rem;font-weight:600;color:#505a5f}
td.when{white-space:normal}
.table-wrap:not(:has(table.cards)){overflow-x:auto}
pre,code{white-space:pre-wrap;overflow-wrap:anywhere}
form.filters .field{flex:1 1 100%;min-width:0}
select,input[type=text],input[type=date],input[type=search],textarea{max-width:100%;min-width:0}
form.filters select,form.filters input{width:100%}
}
@media print{header.top,footer.foot,.actions,form.filters,.skip{display:none}body{background:#fff}}
`;
