namespace NeuralCore;

/// <summary>
/// The process-wide degree of parallelism used by NeuralCore's kernels.
/// </summary>
/// <remarks>
/// Kernels split their output into tiles whose boundaries depend only on the problem's shape, never on the number
/// of threads, and never split a reduction; so every result is bitwise identical whatever this value is.
/// </remarks>
public static class Parallelism
{
    private static int s_degree = Environment.ProcessorCount;

    /// <summary>
    /// Gets or sets the largest number of threads (the calling thread included) that one kernel call may use.
    /// Defaults to <see cref="Environment.ProcessorCount"/>; 1 runs everything on the calling thread.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is less than 1 or greater than 256.</exception>
    public static int DegreeOfParallelism
    {
        get => Volatile.Read(ref s_degree);
        set
        {
            if (value is < 1 or > 256)
            {
                throw new ArgumentOutOfRangeException(nameof(value), value,
                    "DegreeOfParallelism must be between 1 and 256.");
            }

            Volatile.Write(ref s_degree, value);
        }
    }
}
