namespace NeuralCore.Tests;

/// <summary>
/// Tests that change <see cref="Parallelism.DegreeOfParallelism"/> or need the worker pool to themselves run in
/// this collection, alone, so that other tests cannot hold the workers while they measure.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SerialTests
{
    public const string Name = "Serial (parallelism)";
}
