// A library user's `import CallSift` brings the values every layer shares (settings,
// events, time, pseudonymisation), the input types the engine's API names (`InputError`,
// `MemoryInput`, `ByteSink`) and the formats' names (`AnalysisSettings.InputFormat.csv`,
// ...), as well as the engine itself.
@_exported import CallSiftCore
@_exported import CallSiftInput
@_exported import CallSiftFormats
