namespace NeuralCore.Samples.Tests;

/// <summary>The trainer's end-to-end runs use every core: they run alone, so that they do not slow each other down.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SerialTests
{
    public const string Name = "Serial (whole runs)";
}
