using Notifications.LoadTest;
using Notifications.LoadTest.Baseline;
using Notifications.LoadTest.Cli;

const string Usage = """
Notifications.LoadTest — load/benchmark tool for the notification service (raw WebSocket SignalR clients, JSON or
MessagePack hub protocol).

  baseline [--host 127.0.0.1] [--port 5081] [--redis host:port] [--no-store] [--no-messagepack] [--verbose]
      Plain SignalR server with the contract's hub path (/hubs/notifications), POST /api/notifications
      (everyone / users / roles / groups → ReceiveNotification of the same shape), Sync/GetUnreadCount and a naive
      in-memory inbox. Tokens are accepted but not validated (user = sub, or ?user=). Run it with DOTNET_gcServer=1.
      It speaks both hub protocols, JSON and MessagePack (the same payload shape: camelCase maps, timestamps), or JSON
      only with --no-messagepack (with --redis every push is published once per protocol the hub accepts).

  run --scenario S1|S2|S3|S4|S5|S6|smoke[,…] --target URL[,URL…] [--baseline URL[,URL…]]
      --token-key KEY --issuer ISS --audience AUD        (or Auth__SigningKey / Auth__Issuer / Auth__Audience)
    targets      --target-label ours --baseline-label baseline --target-pid P --baseline-pid P (else found by port)
                 --start-server "dotnet path/Notifications.Api.dll" [--server-env K=V …]   (ASPNETCORE_URLS = --target)
                 --start-baseline [--baseline-env K=V …]   (starts `baseline` on the --baseline port, server GC
                 unless DOTNET_gcServer=0 is given)   --log-dir DIR
    shape        --rounds 2 (A,B, B,A, A,B…; medians)  --duration S  --warmup 2  --jit-warmup 20  --jit-warmup-max 120  --settle 3  --cooldown 2
                 (the mixed-load warm-up lasts --jit-warmup s, then goes on while the server's tiered JIT thread is busy)
                 --broadcast-warmup 10 (S3, S6: s of windowed broadcasts in the warm-up, before its mixed load)
                 --connections N  --levels 1000,5000,19000  --concurrency 200 (connects in flight)
                 --rate 10 (broadcasts/s, open loop)  --latency-connections 1000  --window 4 (broadcasts undelivered)
                 --read-rate 60 (S5: reads/s, open loop)  --read-duration S (S5's open loop; default --duration)  --send-concurrency 16  --send-rate 0 (S4: sends/s, open loop; 0 = none)
                 --payload-bytes 200  --spread-sources [N] (127.0.X.Y client addresses)
                 --seed-notifications 1000000 --seed-users 100000 --seed-concurrency 64 --skip-seed (S5)
                 --seed-db postgres|sqlite --seed-connection "CONNECTION STRING"   (S5: bulk SQL into the target's
                 database, after the service migrated it, instead of sends through the API; a baseline still gets sends)
                 --missed 3 (S2)  --no-warmup  --connect-timeout 30  --connect-retries 2  --ping-interval 15  --hub-path /hubs/notifications
    clients      --protocol json|messagepack (the SignalR hub protocol of every client; default json)
    output       --out results.json  --quiet (no progress line)
  report results.json [more.json …]
      Markdown tables (ours vs baseline, ratio) from the JSON files of `run`, for docs/benchmarks.md.

  Scenarios: S1 idle memory/CPU · S2 connect storm + reconnect/sync · S3 broadcast throughput + latency ·
             S4 targeted persisted sends · S5 large store reads · S6 backplane (N instances + Redis vs 1) · smoke.
  Exit code: 0 ok, 1 a check failed (smoke, S5 seeding), 2 usage error (also a zero or negative rate, duration,
             count …), 3 a server to start (--start-server, --start-baseline) exited or never answered,
             130 Ctrl+C, 143 SIGTERM (servers started by the tool are stopped either way).
""";

if (args.Length == 0 || args[0] is "help" or "--help" or "-h")
{
    Console.WriteLine(Usage);
    return args.Length == 0 ? 2 : 0;
}

try
{
    var options = new CliArgs(args[0] == "report" ? [] : args, 1);
    return args[0] switch
    {
        "baseline" => await BaselineServer.RunAsync(options),
        "run" => await Runner.RunAsync(options),
        "report" => await Notifications.LoadTest.Report.MarkdownReport.RunAsync(args.Skip(1).ToArray()),
        _ => throw new ArgumentException($"unknown command '{args[0]}'"),
    };
}
catch (ArgumentException ex)
{
    Console.Error.WriteLine("error: " + ex.Message);
    Console.Error.WriteLine("see: Notifications.LoadTest help");
    return 2;
}
catch (Notifications.LoadTest.Servers.ServerStartException ex)
{
    // The servers started so far were stopped on the way out (the launcher is disposed first).
    Console.Error.WriteLine("error: " + ex.Message);
    return 3;
}
