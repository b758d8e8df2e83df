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

/// <summary>
/// The trait of slow tests whose subject does not depend on the instruction set the kernels run on: argument checks,
/// a copy of more than 2 GiB, concurrent predictions, the training loop's choice of weight order, and variants of a
/// two-thread allocation test whose plain case runs everywhere. Each path of the kernels they call is compared
/// in-process by the kernel tests (<see cref="NeuralCore.Kernels.KernelIsaSupport.Supported"/>). CI's scalar round,
/// where these ran 1.2 to 9 times slower than on AVX2 (Zen 1), leaves them out (<c>--filter "Isa!=Independent"</c>); the
/// README's test command runs them.
/// </summary>
public static class IsaIndependent
{
    public const string Trait = "Isa";
    public const string Value = "Independent";
}
