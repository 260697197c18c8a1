// A library user's `import CallSift` brings the values every layer shares (settings,
// events, time, pseudonymisation) and the input types the engine's API names (`InputError`,
// `MemoryInput`, `ByteSink`), as well as the engine itself.
@_exported import CallSiftCore
@_exported import CallSiftInput
