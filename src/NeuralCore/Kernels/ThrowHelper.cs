using System.Diagnostics.CodeAnalysis;

namespace NeuralCore.Kernels;

/// <summary>Throws the exceptions of argument checks, kept out of line so hot callers stay small.</summary>
internal static class ThrowHelper
{
    [DoesNotReturn]
    public static void ThrowNegative(string name, int value) =>
        throw new ArgumentOutOfRangeException(name, value, $"{name} must be non-negative. Received: {name}={value}.");

    [DoesNotReturn]
    public static void ThrowTooShort(string name, long required, int actual) =>
        throw new ArgumentException(
            $"{name} is too short: the shape needs {required} elements but the span holds {actual}.", name);

    [DoesNotReturn]
    public static void ThrowLengthMismatch(string name, int expected, int actual) =>
        throw new ArgumentException(
            $"{name} has length {actual} but {expected} was expected.", name);

    [DoesNotReturn]
    public static void ThrowOverlap(string name, string other) =>
        throw new ArgumentException($"{name} must not overlap {other}.", name);

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
