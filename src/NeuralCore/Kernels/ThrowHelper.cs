using System.Diagnostics.CodeAnalysis;

namespace NeuralCore.Kernels;

/// <summary>
/// Throws the exceptions of the kernels' argument checks out of line, so that hot callers stay small; the exceptions
/// and their wording are <see cref="Check"/>'s, so that a kernel and a layer word the same problem the same way.
/// </summary>
internal static class ThrowHelper
{
    [DoesNotReturn]
    public static void ThrowNegative(string name, int value) => throw NeuralCore.Check.Negative(value, name);

    [DoesNotReturn]
    public static void ThrowTooShort(string name, long required, int actual) =>
        throw NeuralCore.Check.NotHolding(actual, required, name, "the shape");

    /// <summary>Throws because <paramref name="name"/> is not as long as <paramref name="otherName"/>, which it is read with.</summary>
    [DoesNotReturn]
    public static void ThrowLengthMismatch(string name, int length, string otherName, int otherLength) =>
        throw NeuralCore.Check.NotSameLength(length, otherLength, name, otherName, "elements");

    [DoesNotReturn]
    public static void ThrowEmpty(string name) => throw NeuralCore.Check.Empty(name);

    [DoesNotReturn]
    public static void ThrowOverlap(string name, string other) => throw NeuralCore.Check.Overlapping(name, other);

    [DoesNotReturn]
    public static void ThrowOutOfRange(string name, string message) =>
        throw new ArgumentOutOfRangeException(name, message);

    /// <summary>Throws when <paramref name="value"/> is negative.</summary>
    public static void CheckNonNegative(int value, string name)
    {
        if (value < 0)
        {
            ThrowNegative(name, value);
        }
    }

    /// <summary>Throws when a span holds fewer than <paramref name="required"/> elements.</summary>
    public static void CheckLength(int actual, long required, string name)
    {
        if (actual < required)
        {
            ThrowTooShort(name, required, actual);
        }
    }
}
