using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace NeuralCore.Data;

/// <summary>
/// Datasets from the shapes data usually comes in: a rectangular <c>float[,]</c> (rows are samples), jagged
/// <c>float[][]</c> rows, or flat spans. The values are copied; nothing is scaled.
/// </summary>
public static class DatasetAdapters
{
    /// <summary>A labelled dataset from a <c>[samples, features]</c> matrix.</summary>
    /// <param name="features">One row per sample.</param>
    /// <param name="labels">One class label per row.</param>
    /// <returns>The dataset.</returns>
    /// <exception cref="ArgumentException">The matrix has no column, holds more values than one array (<see cref="Array.MaxLength"/>), or the row and label counts differ.</exception>
    public static Dataset FromMatrix(float[,] features, int[] labels)
    {
        ArgumentNullException.ThrowIfNull(labels);
        float[] flat = Flatten(features, labels.Length, nameof(features));
        return new Dataset(flat, labels.ToArray(), features.GetLength(1));
    }

    /// <summary>A dataset of real-valued targets from <c>[samples, features]</c> and <c>[samples, outputs]</c> matrices.</summary>
    /// <param name="features">One row per sample.</param>
    /// <param name="targets">One row of targets per sample.</param>
    /// <returns>The dataset.</returns>
    /// <exception cref="ArgumentException">A matrix has no column or holds more values than one array, or the row counts differ.</exception>
    public static Dataset FromMatrix(float[,] features, float[,] targets)
    {
        ArgumentNullException.ThrowIfNull(targets);
        float[] x = Flatten(features, targets.GetLength(0), nameof(features));
        float[] y = Flatten(targets, targets.GetLength(0), nameof(targets));
        return new Dataset(x, y, features.GetLength(1), targets.GetLength(1));
    }

    /// <summary>A labelled dataset from jagged rows, all of one length.</summary>
    /// <param name="rows">One array of features per sample.</param>
    /// <param name="labels">One class label per row.</param>
    /// <returns>The dataset.</returns>
    /// <exception cref="ArgumentException">
    /// There is no row, a row is null or of another length than the first (named), the rows hold more values than one
    /// array (<see cref="Array.MaxLength"/>), or the counts differ.
    /// </exception>
    public static Dataset FromRows(float[][] rows, int[] labels)
    {
        ArgumentNullException.ThrowIfNull(labels);
        float[] flat = Flatten(rows, labels.Length, nameof(rows), out int width);
        return new Dataset(flat, labels.ToArray(), width);
    }

    /// <summary>A dataset of real-valued targets from jagged rows.</summary>
    /// <param name="rows">One array of features per sample.</param>
    /// <param name="targets">One array of targets per sample, all of one length.</param>
    /// <returns>The dataset.</returns>
    /// <exception cref="ArgumentException">There is no row, a row is null or ragged (named), the rows or targets hold more values than one array, or the counts differ.</exception>
    public static Dataset FromRows(float[][] rows, float[][] targets)
    {
        ArgumentNullException.ThrowIfNull(targets);
        float[] x = Flatten(rows, targets.Length, nameof(rows), out int width);
        float[] y = Flatten(targets, targets.Length, nameof(targets), out int outputs);
        return new Dataset(x, y, width, outputs);
    }

    /// <summary>A labelled dataset from flat, row-major features.</summary>
    /// <param name="features">The <c>[labels.Length, featureSize]</c> features.</param>
    /// <param name="labels">One class label per sample.</param>
    /// <param name="featureSize">Features per sample; positive.</param>
    /// <returns>The dataset.</returns>
    /// <exception cref="ArgumentException">The features do not hold exactly one row per label.</exception>
    public static Dataset FromSpan(ReadOnlySpan<float> features, ReadOnlySpan<int> labels, int featureSize)
    {
        Check.Positive(featureSize, nameof(featureSize), "feature size");
        if (features.Length != (long)labels.Length * featureSize)
        {
            throw new ArgumentException(
                $"Expected {labels.Length} rows of {featureSize} features ({(long)labels.Length * featureSize} values). Received: {features.Length} values.", nameof(features));
        }

        return new Dataset(features.ToArray(), labels.ToArray(), featureSize);
    }

    /// <summary><c>rows·columns</c>, which a <c>float[,]</c> may hold past what one <c>float[]</c> holds.</summary>
    /// <exception cref="ArgumentException">The product exceeds <see cref="Array.MaxLength"/>.</exception>
    internal static int FlatLength(int rows, int columns, string name)
    {
        // In 64 bits: the product, and the byte count Buffer.BlockCopy took as an int, overflowed past 2 GiB.
        long length = (long)rows * columns;
        return length <= Array.MaxLength
            ? (int)length
            : throw new ArgumentException($"{name} of [{rows}, {columns}] holds {length} values, more than one array holds ({Array.MaxLength}).", name);
    }

    private static float[] Flatten(float[,] matrix, int expectedRows, string name)
    {
        ArgumentNullException.ThrowIfNull(matrix, name);
        int rows = matrix.GetLength(0), columns = matrix.GetLength(1);
        if (columns == 0)
        {
            throw new ArgumentException($"{name} has no column.", name);
        }

        if (rows != expectedRows)
        {
            throw new ArgumentException($"{name} has {rows} rows but there are {expectedRows} labels or target rows.", name);
        }

        float[] flat = new float[FlatLength(rows, columns, name)];
        MemoryMarshal.CreateReadOnlySpan(ref Unsafe.As<byte, float>(ref MemoryMarshal.GetArrayDataReference(matrix)), flat.Length).CopyTo(flat);
        return flat;
    }

    private static float[] Flatten(float[][] rows, int expectedRows, string name, out int width)
    {
        ArgumentNullException.ThrowIfNull(rows, name);
        if (rows.Length == 0)
        {
            throw new ArgumentException($"{name} needs at least one non-empty row.", name);
        }

        if (rows[0] is null || rows[0].Length == 0)
        {
            // The first row sets the width: said of it alone (a null first row among others was reported as no row at all).
            throw new ArgumentException($"{name}[0] is {(rows[0] is null ? "null" : "empty")}; every row needs at least one value.", name);
        }

        if (rows.Length != expectedRows)
        {
            throw new ArgumentException($"{name} has {rows.Length} rows but there are {expectedRows} labels or target rows.", name);
        }

        width = rows[0].Length;
        // Checked as for a matrix: past Array.MaxLength the allocation threw a bare OverflowException.
        float[] flat = new float[FlatLength(rows.Length, width, name)];
        for (int r = 0; r < rows.Length; r++)
        {
            if (rows[r] is null)
            {
                throw new ArgumentException($"{name}[{r}] is null; every row needs {width} values, as {name}[0] has.", name);
            }

            if (rows[r].Length != width)
            {
                throw new ArgumentException($"{name}[{r}] has {rows[r].Length} values, but {name}[0] has {width}.", name);
            }

            rows[r].CopyTo(flat, (long)r * width);
        }

        return flat;
    }
}
