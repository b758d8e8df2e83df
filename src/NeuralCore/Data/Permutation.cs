using NeuralCore.Randomness;

namespace NeuralCore.Data;

/// <summary>
/// Seeded random permutations by Fisher–Yates, driven by NeuralCore's own xoshiro128** generator: a seed gives the
/// same order on every .NET version and machine.
/// </summary>
public static class Permutation
{
    /// <summary>A random permutation of <c>0 .. count − 1</c>.</summary>
    /// <param name="count">The number of elements, from 0 to <see cref="Array.MaxLength"/>.</param>
    /// <param name="seed">The seed.</param>
    /// <returns>A new array holding each of <c>0 .. count − 1</c> once.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is negative or above <see cref="Array.MaxLength"/>.</exception>
    public static int[] Create(int count, ulong seed)
    {
        // Above Array.MaxLength the allocation fails with an OutOfMemoryException ("Array dimensions exceeded
        // supported range") however much memory there is: an argument error, not a memory one.
        Check.InRange(count, 0, Array.MaxLength, nameof(count), "a count no larger than one array holds");

        var result = new int[count];
        Fill(result, seed);
        return result;
    }

    /// <summary>Overwrites <paramref name="destination"/> with a random permutation of <c>0 .. destination.Length − 1</c>.</summary>
    /// <param name="destination">The span to fill; its length is the permutation's size.</param>
    /// <param name="seed">The seed.</param>
    public static void Fill(Span<int> destination, ulong seed)
    {
        for (int i = 0; i < destination.Length; i++)
        {
            destination[i] = i;
        }

        Shuffle(destination, seed);
    }

    /// <summary>Shuffles <paramref name="values"/> in place, uniformly over all orders (Fisher–Yates).</summary>
    /// <param name="values">The values to shuffle.</param>
    /// <param name="seed">The seed.</param>
    public static void Shuffle(Span<int> values, ulong seed)
    {
        var random = new Xoshiro128(seed);
        Shuffle(values, ref random);
    }

    /// <summary>
    /// Fisher–Yates from the end: for <c>i = n − 1 … 1</c>, swap element <c>i</c> with element <c>j</c> drawn uniformly
    /// from <c>[0, i]</c>. Continues <paramref name="random"/>'s sequence, so a training loop can reshuffle every epoch.
    /// </summary>
    internal static void Shuffle(Span<int> values, ref Xoshiro128 random)
    {
        for (int i = values.Length - 1; i > 0; i--)
        {
            int j = random.NextInt(i + 1);
            (values[i], values[j]) = (values[j], values[i]);
        }
    }
}
