using NeuralCore.Data;

namespace NeuralCore.Tests.Data;

public class DatasetAdaptersTests
{
    [Fact]
    public void Matrices_rows_and_spans_give_the_same_dataset()
    {
        float[,] matrix = { { 1, 2, 3 }, { 4, 5, 6 } };
        float[][] rows = [[1, 2, 3], [4, 5, 6]];
        int[] labels = [0, 1];
        Dataset fromMatrix = DatasetAdapters.FromMatrix(matrix, labels);
        Dataset fromRows = DatasetAdapters.FromRows(rows, labels);
        Dataset fromSpan = DatasetAdapters.FromSpan([1, 2, 3, 4, 5, 6], labels, 3);
        foreach (Dataset d in new[] { fromMatrix, fromRows, fromSpan })
        {
            Assert.Equal(2, d.Count);
            Assert.Equal(3, d.FeatureSize);
            Assert.Equal([1f, 2, 3, 4, 5, 6], d.Features);
            Assert.Equal(labels, d.Labels);
        }

        Dataset regression = DatasetAdapters.FromMatrix(matrix, new float[,] { { 0.5f }, { 1.5f } });
        Assert.Equal([0.5f, 1.5f], regression.Targets);
        Assert.Equal(1, regression.TargetSize);
        Assert.Equal([0.5f, 1.5f], DatasetAdapters.FromRows(rows, [[0.5f], [1.5f]]).Targets);

        // The dataset holds copies: changing the source afterwards changes nothing.
        rows[0][0] = 99;
        Assert.Equal(1f, fromRows.Features[0]);
    }

    [Trait(IsaIndependent.Trait, IsaIndependent.Value)]
    [Fact]
    public void A_matrix_of_more_than_2_gib_is_copied_whole_and_one_past_an_array_is_refused_by_name()
    {
        // The copy's byte count was an int: past 536,870,911 floats it wrapped negative, and Buffer.BlockCopy threw
        // ArgumentOutOfRangeException ("count") for a matrix one array holds. 2.1 GB, twice.
        const int Rows = (1 << 23) + 1, Columns = 64;
        var matrix = new float[Rows, Columns];
        matrix[Rows - 1, Columns - 1] = 7;
        Dataset data = DatasetAdapters.FromMatrix(matrix, new int[Rows]);
        Assert.Equal((long)Rows * Columns, data.Features.LongLength);
        Assert.Equal(7f, data.Features[^1]);

        // More values than one float[] holds (a float[,] may): rows × columns overflowed int (an OverflowException).
        // Checked on the length alone: the matrix itself would take 8.6 GB.
        var huge = Assert.Throws<ArgumentException>(() => DatasetAdapters.FlatLength(46_341, 46_341, "features"));
        Assert.Equal("features", huge.ParamName);
        Assert.Contains("features of [46341, 46341] holds 2147488281 values, more than one array holds", huge.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Ragged_rows_and_count_mismatches_are_named()
    {
        var ragged = Assert.Throws<ArgumentException>(() => DatasetAdapters.FromRows([[1f, 2f], [3f]], [0, 1]));
        Assert.Contains("rows[1] has 1 values, but rows[0] has 2", ragged.Message, StringComparison.Ordinal);
        var count = Assert.Throws<ArgumentException>(() => DatasetAdapters.FromMatrix(new float[3, 2], [0, 1]));
        Assert.Contains("has 3 rows but there are 2 labels", count.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => DatasetAdapters.FromSpan([1f, 2f, 3f], [0, 1], 2));
        Assert.Throws<ArgumentException>(() => DatasetAdapters.FromRows([], Array.Empty<int>()));
        var nullFirst = Assert.Throws<ArgumentException>(() => DatasetAdapters.FromRows([null!, [1f]], [0, 1]));
        Assert.Contains("rows[0] is null", nullFirst.Message, StringComparison.Ordinal);
        var emptyFirst = Assert.Throws<ArgumentException>(() => DatasetAdapters.FromRows([[], [1f]], [0, 1]));
        Assert.Contains("rows[0] is empty", emptyFirst.Message, StringComparison.Ordinal);

        // A null row after the first was said to have "no values", as an empty one would.
        var nullSecond = Assert.Throws<ArgumentException>(() => DatasetAdapters.FromRows([[1f, 2f], null!], [0, 1]));
        Assert.Equal("rows[1] is null; every row needs 2 values, as rows[0] has. (Parameter 'rows')", nullSecond.Message);
        var nullTarget = Assert.Throws<ArgumentException>(() => DatasetAdapters.FromRows([[1f], [2f]], [[1f], null!]));
        Assert.StartsWith("targets[1] is null", nullTarget.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Rows_holding_more_values_than_one_array_are_refused_by_name()
    {
        // 50,000 rows of 50,000: the flat array's length, past Array.MaxLength, threw a bare OverflowException. One
        // row shared by all, so the test allocates 200 kB.
        float[][] rows = [.. Enumerable.Repeat(new float[50_000], 50_000)];
        var e = Assert.Throws<ArgumentException>(() => DatasetAdapters.FromRows(rows, new int[50_000]));
        Assert.Equal("rows", e.ParamName);
        Assert.Contains("rows of [50000, 50000] holds 2500000000 values, more than one array holds", e.Message, StringComparison.Ordinal);
    }
}
