/**
 * C strftime(3) in the "C" locale for the tracing language's strftime(): the conversions bpftrace scripts use,
 * in the process's local time zone. Unknown conversions are refused at compile time (checkStrftime).
 */

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const SUPPORTED = 'aAbBcCdDeFhHIjklmMnprRsStTuwyYzZ%';

/** The first conversion strftime() does not support (`%U`), or undefined when all are supported. */
export function checkStrftime(fmt: string): string | undefined {
  for (let i = 0; i < fmt.length; i++) {
    if (fmt[i] !== '%') continue;
    const c = fmt[++i];
    if (c === undefined || !SUPPORTED.includes(c)) return `%${c ?? ''}`;
  }
  return undefined;
}

const p2 = (n: number, pad = '0') => String(n).padStart(2, pad);

function zoneName(d: Date): string {
  const part = new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' }).formatToParts(d).find((p) => p.type === 'timeZoneName');
  const name = part?.value ?? 'UTC';
  return name === 'GMT' && d.getTimezoneOffset() === 0 ? 'UTC' : name;
}

/** Format `d` (local time) like C strftime in the "C" locale. */
export function strftime(fmt: string, d: Date): string {
  let out = '';
  for (let i = 0; i < fmt.length; i++) {
    const ch = fmt[i]!;
    if (ch !== '%' || i + 1 >= fmt.length) {
      out += ch;
      continue;
    }
    const c = fmt[++i]!;
    const H = d.getHours();
    const yday = Math.floor((Date.UTC(d.getFullYear(), d.getMonth(), d.getDate()) - Date.UTC(d.getFullYear(), 0, 1)) / 86400000) + 1;
    switch (c) {
      case 'a': out += DAYS[d.getDay()]!.slice(0, 3); break;
      case 'A': out += DAYS[d.getDay()]; break;
      case 'b':
      case 'h': out += MONTHS[d.getMonth()]!.slice(0, 3); break;
      case 'B': out += MONTHS[d.getMonth()]; break;
      case 'c': out += strftime('%a %b %e %H:%M:%S %Y', d); break;
      case 'C': out += p2(Math.floor(d.getFullYear() / 100)); break;
      case 'd': out += p2(d.getDate()); break;
      case 'D': out += strftime('%m/%d/%y', d); break;
      case 'e': out += p2(d.getDate(), ' '); break;
      case 'F': out += strftime('%Y-%m-%d', d); break;
      case 'H': out += p2(H); break;
      case 'I': out += p2(H % 12 || 12); break;
      case 'j': out += String(yday).padStart(3, '0'); break;
      case 'k': out += p2(H, ' '); break;
      case 'l': out += p2(H % 12 || 12, ' '); break;
      case 'm': out += p2(d.getMonth() + 1); break;
      case 'M': out += p2(d.getMinutes()); break;
      case 'n': out += '\n'; break;
      case 'p': out += H < 12 ? 'AM' : 'PM'; break;
      case 'r': out += strftime('%I:%M:%S %p', d); break;
      case 'R': out += strftime('%H:%M', d); break;
      case 's': out += String(Math.floor(d.getTime() / 1000)); break;
      case 'S': out += p2(d.getSeconds()); break;
      case 't': out += '\t'; break;
      case 'T': out += strftime('%H:%M:%S', d); break;
      case 'u': out += String(d.getDay() || 7); break;
      case 'w': out += String(d.getDay()); break;
      case 'y': out += p2(d.getFullYear() % 100); break;
      case 'Y': out += String(d.getFullYear()); break;
      case 'z': {
        const off = -d.getTimezoneOffset();
        const a = Math.abs(off);
        out += (off < 0 ? '-' : '+') + p2(Math.floor(a / 60)) + p2(a % 60);
        break;
      }
      case 'Z': out += zoneName(d); break;
      case '%': out += '%'; break;
      default: out += '%' + c;
    }
  }
  return out;
}
