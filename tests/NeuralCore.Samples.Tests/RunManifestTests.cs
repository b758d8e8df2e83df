using MnistMlp;

namespace NeuralCore.Samples.Tests;

public sealed class RunManifestTests : IDisposable
{
    private readonly string _out = Directory.CreateTempSubdirectory("neuralcore-manifest-").FullName;

    public void Dispose() => Directory.Delete(_out, recursive: true);

    [Fact]
    public void A_finished_set_verifies_and_any_file_of_another_run_is_named()
    {
        Directory.CreateDirectory(Path.Combine(_out, "sub"));
        File.WriteAllText(Path.Combine(_out, "report.json"), "{\"run\": 1}");
        File.WriteAllText(Path.Combine(_out, "model.ncm"), "model of run 1");
        File.WriteAllText(Path.Combine(_out, "sub", "curves.png"), "curves of run 1");
        RunManifest.Write(_out, "run-1", ["report.json", "model.ncm", Path.Combine("sub", "curves.png")]);
        Assert.Empty(RunManifest.Verify(_out));

        // A second run killed after replacing the model: the report and the model no longer belong together.
        File.WriteAllText(Path.Combine(_out, "model.ncm"), "model of run 2");
        Assert.Equal(["model.ncm is not the file run run-1 wrote (another run or an edit replaced it)"], RunManifest.Verify(_out));

        File.Delete(Path.Combine(_out, "sub", "curves.png"));
        Assert.Contains("sub/curves.png is missing (run run-1 wrote it)", RunManifest.Verify(_out));
    }

    [Fact]
    public void A_report_of_another_run_under_a_matching_hash_is_named()
    {
        // The hashes describe what was on disk when the manifest was written; the report names the run that wrote it.
        File.WriteAllText(Path.Combine(_out, "report.json"), "{\"runId\": \"run-2\"}");
        RunManifest.Write(_out, "run-1", ["report.json"]);
        Assert.Equal(["report.json was written by run run-2, not by run run-1 of the manifest"], RunManifest.Verify(_out));
        File.WriteAllText(Path.Combine(_out, "report.json"), "{\"runId\": \"run-1\"}");
        RunManifest.Write(_out, "run-1", ["report.json"]);
        Assert.Empty(RunManifest.Verify(_out));
    }

    [Fact]
    public void One_run_at_a_time_writes_to_a_folder()
    {
        // Two trainers on one --out interleaved their outputs, and the manifest of one certified the other's history.
        var warnings = new StringWriter();
        using (FileStream held = Trainer.LockOutput(_out, warnings))
        {
            if (warnings.ToString().Length > 0)
            {
                // A file system (or DOTNET_SYSTEM_IO_DISABLEFILELOCKING) that enforces no lock: said, not pretended.
                Assert.Contains($"warning: file locks are not enforced in '{_out}'", warnings.ToString(), StringComparison.Ordinal);
                return;
            }

            var ex = Assert.Throws<IOException>(() => Trainer.LockOutput(_out));
            Assert.Contains($"Another run is writing to the output folder '{_out}'", ex.Message, StringComparison.Ordinal);
        }

        // Released with the run. The file stays (deleting it would let a run that opened it just before lock a deleted
        // file while a third locked a new one), and the next run takes it.
        Assert.True(File.Exists(Path.Combine(_out, Trainer.LockFile)));
        Trainer.LockOutput(_out).Dispose();
    }

    [Fact]
    public void A_run_that_starts_writing_outputs_removes_the_manifest_until_it_finishes()
    {
        File.WriteAllText(Path.Combine(_out, "report.json"), "{}");
        RunManifest.Write(_out, "run-1", ["report.json"]);
        RunManifest.Invalidate(_out);
        Assert.Single(RunManifest.Verify(_out), problem => problem.Contains("has no manifest.json: the last run there did not finish writing its outputs", StringComparison.Ordinal));
    }

    [Fact]
    public void A_damaged_manifest_is_reported_not_thrown()
    {
        File.WriteAllText(Path.Combine(_out, RunManifest.FileName), "{ \"runId\": 3 ");
        Assert.Single(RunManifest.Verify(_out), problem => problem.Contains("is not a readable manifest", StringComparison.Ordinal));

        File.WriteAllText(Path.Combine(_out, "a.txt"), "a");
        File.WriteAllText(Path.Combine(_out, RunManifest.FileName), "{ \"runId\": \"r\", \"files\": { \"a.txt\": { \"bytes\": 1.5, \"sha256\": \"x\" } } }");
        Assert.Single(RunManifest.Verify(_out), problem => problem.Contains("is not a readable manifest", StringComparison.Ordinal));
    }

    [Fact]
    public void Run_ids_are_unique_and_sortable_by_time()
    {
        string a = RunManifest.NewRunId(), b = RunManifest.NewRunId();
        Assert.NotEqual(a, b);
        Assert.Matches(@"^\d{8}T\d{6}Z-[0-9a-f]{8}$", a);
    }
}
