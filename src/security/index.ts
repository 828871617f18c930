/**
 * Runtime security rules in the spirit of Falco/Tetragon: JSON rules on exec, open, connect, ptrace, setuid and
 * kill system calls, compiled by bpfkit into syscall-tracepoint programs that filter in the kernel and alert
 * through a ring buffer, or SIGKILL the caller at syscall entry.
 */
export {
  checkRules,
  normalizeSecurityRules,
  parseRulesJson,
  isNormalizedRule,
  SECURITY_EVENTS,
  MAX_SECURITY_RULES,
  type SecurityRule,
  type SecurityEventName,
  type SecurityAction,
  type StringMatch,
  type IdMatch,
  type NormalizedRule as NormalizedSecurityRule,
} from './rules.js';
export { watch, type WatchOptions, type SecurityWatcher, type SecurityStats } from './watch.js';
export { compileSecurity, type SecurityProgram, type SecurityProgramOptions } from './program.js';
export { decodeRecord, alertJson, alertText, type SecurityAlert } from './alerts.js';
