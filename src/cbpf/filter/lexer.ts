/**
 * The tokenizer of the pcap filter language, following libpcap's scanner: longest match wins, and on equal
 * lengths keywords beat Ethernet addresses, which beat numbers, dotted host ids, IPv6 addresses, named
 * constants (`tcp-syn`, `icmp-echo`...) and finally plain identifiers. Positions are 1-based columns.
 */
import { CbpfError } from '../../errors.js';
import { parseIPv6 } from './names.js';

export type TokKind = 'kw' | 'NUM' | 'HID' | 'HID6' | 'EID' | 'AID' | 'ID' | 'op' | 'EOF';

export interface Token {
  kind: TokKind;
  /** Keyword name (canonical), operator text, or the identifier/address text. */
  text: string;
  /** Numeric value of NUM tokens. */
  value: number;
  /** 1-based column of the first character. */
  pos: number;
}

const KEYWORDS: Record<string, string> = {};
const kw = (names: string, tok: string) => names.split('|').forEach((n) => (KEYWORDS[n] = tok));
kw('dst', 'dst');
kw('src', 'src');
kw('link|ether|ppp|slip|fddi|tr|wlan', 'link');
for (const w of 'arp rarp ip sctp tcp udp icmp igmp igrp pim vrrp carp radio ip6 icmp6 ah esp atalk aarp decnet lat sca moprc mopdl iso esis isis l1 l2 iih lsp snp csnp psnp clnp stp ipx netbeui host net port portrange proto protochain gateway type subtype less greater broadcast multicast inbound outbound ifindex vlan mpls pppoed pppoes geneve lane llc metac bcc oam oamf4 oamf4ec oamf4sc sc ilmic vpi vci connectmsg metaconnect reason action fisu lssu msu hfisu hlssu hmsu sio opc dpc sls hsio hopc hdpc hsls ra ta'.split(' ')) {
  kw(w, w);
}
kw('es-is', 'esis');
kw('is-is', 'isis');
kw('mask', 'mask');
kw('direction|dir', 'dir');
kw('address1|addr1', 'addr1');
kw('address2|addr2', 'addr2');
kw('address3|addr3', 'addr3');
kw('address4|addr4', 'addr4');
kw('byte', 'byte');
kw('and', 'and');
kw('or', 'or');
kw('not', '!');
kw('len|length', 'len');
kw('on|ifname', 'ifname');
kw('rset|ruleset', 'ruleset');
kw('rnr|rulenum', 'rulenum');
kw('srnr|subrulenum', 'subrulenum');
kw('lsu', 'lssu');

const NAMED: Record<string, number> = {
  icmptype: 0, icmpcode: 1, 'icmp-echoreply': 0, 'icmp-unreach': 3, 'icmp-sourcequench': 4, 'icmp-redirect': 5,
  'icmp-echo': 8, 'icmp-routeradvert': 9, 'icmp-routersolicit': 10, 'icmp-timxceed': 11, 'icmp-paramprob': 12,
  'icmp-tstamp': 13, 'icmp-tstampreply': 14, 'icmp-ireq': 15, 'icmp-ireqreply': 16, 'icmp-maskreq': 17,
  'icmp-maskreply': 18, icmp6type: 0, icmp6code: 1, 'icmp6-destinationunreach': 1, 'icmp6-packettoobig': 2,
  'icmp6-timeexceeded': 3, 'icmp6-parameterproblem': 4, 'icmp6-echo': 128, 'icmp6-echoreply': 129,
  'icmp6-multicastlistenerquery': 130, 'icmp6-multicastlistenerreportv1': 131, 'icmp6-multicastlistenerdone': 132,
  'icmp6-routersolicit': 133, 'icmp6-routeradvert': 134, 'icmp6-neighborsolicit': 135, 'icmp6-neighboradvert': 136,
  'icmp6-redirect': 137, 'icmp6-routerrenum': 138, 'icmp6-nodeinformationquery': 139,
  'icmp6-nodeinformationresponse': 140, 'icmp6-ineighbordiscoverysolicit': 141, 'icmp6-ineighbordiscoveryadvert': 142,
  'icmp6-multicastlistenerreportv2': 143, 'icmp6-homeagentdiscoveryrequest': 144, 'icmp6-homeagentdiscoveryreply': 145,
  'icmp6-mobileprefixsolicit': 146, 'icmp6-mobileprefixadvert': 147, 'icmp6-certpathsolicit': 148,
  'icmp6-certpathadvert': 149, 'icmp6-multicastrouteradvert': 151, 'icmp6-multicastroutersolicit': 152,
  'icmp6-multicastrouterterm': 153, tcpflags: 13, 'tcp-fin': 0x01, 'tcp-syn': 0x02, 'tcp-rst': 0x04,
  'tcp-push': 0x08, 'tcp-ack': 0x10, 'tcp-urg': 0x20, 'tcp-ece': 0x40, 'tcp-cwr': 0x80,
};

const TWO_CHAR_OPS = ['>=', '<=', '!=', '==', '<<', '>>', '&&', '||'];
const ONE_CHAR_OPS = '+-*/%:[]!<>()&|^=';

const RE_WORD = /^[A-Za-z0-9](?:[-_.A-Za-z0-9]*[.A-Za-z0-9])?/;
const RE_N = /^(?:0[xX][0-9A-Fa-f]+|[0-9]+)/;
const RE_HID = /^(?:[0-9]+|0[xX][0-9A-Fa-f]+)(?:\.(?:0[xX][0-9A-Fa-f]+|[0-9]+)){1,3}/;
const B = '[0-9A-Fa-f][0-9A-Fa-f]?';
const B2 = '[0-9A-Fa-f]{4}';
const RE_MAC = [
  new RegExp(`^${B}:${B}:${B}:${B}:${B}:${B}`),
  new RegExp(`^${B}-${B}-${B}-${B}-${B}-${B}`),
  new RegExp(`^${B}\\.${B}\\.${B}\\.${B}\\.${B}\\.${B}`),
  new RegExp(`^${B2}\\.${B2}\\.${B2}`),
  new RegExp(`^${B2}${B2}${B2}`),
];
const RE_BOGUS_MAC = new RegExp(`^${B}:+(?:${B}:+)+`);

function longest(res: RegExp[], s: string): string {
  let best = '';
  for (const re of res) {
    const m = re.exec(s);
    if (m && m[0].length > best.length) best = m[0];
  }
  return best;
}

/** Longest prefix that is an IPv6 address in one of libpcap's V6 shapes. */
function matchV6(s: string): string {
  const m = /^[0-9A-Fa-f:.]+/.exec(s);
  if (!m || !m[0].includes(':')) return '';
  for (let len = m[0].length; len >= 2; len--) {
    const cand = m[0].slice(0, len);
    if (!cand.includes(':')) break;
    if (/^[0-9A-Fa-f]{0,4}(:[0-9A-Fa-f]{0,4})*(:[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+)?$/.test(cand) && parseIPv6(cand)) return cand;
  }
  return '';
}

/** Parse a NUM token as libpcap's stou does (decimal, 0x hex, leading-0 octal; 32-bit overflow is an error). */
function numberValue(text: string, pos: number): number {
  let v: bigint;
  if (/^0[xX]/.test(text)) v = BigInt(text);
  else if (text.length > 1 && text.startsWith('0')) {
    if (/[89]/.test(text)) throw new CbpfError(`number ${text} contains non-octal digit`, pos);
    v = BigInt('0o' + text.slice(1));
  } else v = BigInt(text);
  if (v > 0xffffffffn) throw new CbpfError(`number ${text} overflows 32 bits`, pos);
  return Number(v);
}

/** Split a filter expression into tokens (the last one is EOF). Throws CbpfError on an illegal character. */
export function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const ch = src[i]!;
    if (ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r') {
      i++;
      continue;
    }
    const pos = i + 1;
    const rest = src.slice(i);
    if (ch === '\\') {
      const m = /^\\[^ !()\n\t]+/.exec(rest);
      if (!m) throw new CbpfError("illegal character '\\'", pos);
      out.push({ kind: 'ID', text: m[0].slice(1), value: 0, pos });
      i += m[0].length;
      continue;
    }
    const word = RE_WORD.exec(rest)?.[0] ?? '';
    const mac = longest(RE_MAC, rest);
    const num = RE_N.exec(rest)?.[0] ?? '';
    const hid = RE_HID.exec(rest)?.[0] ?? '';
    const v6 = matchV6(rest);
    const bogus = RE_BOGUS_MAC.exec(rest)?.[0] ?? '';
    const two = TWO_CHAR_OPS.find((o) => rest.startsWith(o));
    const opLen = two ? 2 : ONE_CHAR_OPS.includes(ch) ? 1 : 0;
    const L = Math.max(word.length, mac.length, num.length, hid.length, v6.length, bogus.length, opLen);
    if (L === 0) throw new CbpfError(`illegal character '${ch}'`, pos);
    let tok: Token;
    const lower = word; // libpcap's scanner is case-sensitive: `TCP` is an identifier, not a keyword
    if (word.length === L && KEYWORDS[lower] !== undefined) tok = { kind: 'kw', text: KEYWORDS[lower]!, value: 0, pos };
    else if (opLen === L) {
      const t = src.slice(i, i + L);
      const canon = t === '&&' ? 'and' : t === '||' ? 'or' : t === '!' ? '!' : t === '==' ? '=' : t;
      tok = canon === 'and' || canon === 'or' || canon === '!' ? { kind: 'kw', text: canon, value: 0, pos } : { kind: 'op', text: canon, value: 0, pos };
    } else if (mac.length === L) tok = { kind: 'EID', text: mac, value: 0, pos };
    else if (num.length === L) tok = { kind: 'NUM', text: num, value: numberValue(num, pos), pos };
    else if (hid.length === L) tok = { kind: 'HID', text: hid, value: 0, pos };
    else if (v6.length === L) tok = { kind: 'HID6', text: v6, value: 0, pos };
    else if (bogus.length === L) throw new CbpfError(`bogus ethernet address ${bogus}`, pos);
    else if (NAMED[lower] !== undefined) tok = { kind: 'NUM', text: word, value: NAMED[lower]!, pos };
    else tok = { kind: 'ID', text: word, value: 0, pos };
    out.push(tok);
    i += L;
  }
  out.push({ kind: 'EOF', text: '', value: 0, pos: src.length + 1 });
  return out;
}
