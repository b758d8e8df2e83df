namespace NeuralCore.Optimizers;

/// <summary>The range checks shared by the optimizers' options records; messages name the option and its value.</summary>
internal static class OptionChecks
{
    public static void Positive(float value, string option)
    {
        if (!(value > 0f && float.IsFinite(value)))
        {
            throw new ArgumentOutOfRangeException(option, value,
                $"Expected a positive, finite {option}. Received: {Camel(option)}={value}.");
        }
    }

    public static void NonNegative(float value, string option)
    {
        if (!(value >= 0f && float.IsFinite(value)))
        {
            throw new ArgumentOutOfRangeException(option, value,
                $"Expected a non-negative, finite {option}. Received: {Camel(option)}={value}.");
        }
    }

    public static void Decay(float value, string option)
    {
        if (!(value >= 0f && value < 1f))
        {
            throw new ArgumentOutOfRangeException(option, value,
                $"Expected {option} in [0, 1). Received: {Camel(option)}={value}.");
        }
    }

    private static string Camel(string option) => char.ToLowerInvariant(option[0]) + option[1..];
}
