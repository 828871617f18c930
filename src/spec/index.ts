/** Specs: plain data describing programs and maps before they are loaded, and the shared map interface. */
export * from './program.js';
export * from './map.js';
