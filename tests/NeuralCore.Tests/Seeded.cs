namespace NeuralCore.Tests;

/// <summary>Seeded test values.</summary>
public static class Seeded
{
    /// <summary>Uniform values in [-scale, scale).</summary>
    public static float[] Uniform(int length, int seed, float scale = 1f)
    {
        var random = new Random(seed);
        var values = new float[length];
        for (int i = 0; i < length; i++)
        {
            values[i] = (float)((random.NextDouble() * 2) - 1) * scale;
        }

        return values;
    }
}
