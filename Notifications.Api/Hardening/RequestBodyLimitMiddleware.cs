using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

namespace Notifications.Api.Hardening;

/// <summary>
/// Caps request bodies under <c>/api</c> at <c>Limits:MaxRequestBodyBytes</c> (64 KB) with a 413 ProblemDetails. A
/// declared length over the cap is refused before anything is read. A chunked body (no length) is read here, up to
/// one byte past the cap, so it gets the same answer; endpoints then read it from memory.
/// </summary>
public sealed class RequestBodyLimitMiddleware(RequestDelegate next, IOptions<LimitsOptions> options, IProblemDetailsService problems)
{
    // Not async outside /api (see OriginGuardMiddleware).
    public Task InvokeAsync(HttpContext context) =>
        context.Request.Path.StartsWithSegments("/api") ? LimitAsync(context) : next(context);

    private async Task LimitAsync(HttpContext context)
    {
        var limit = options.Value.MaxRequestBodyBytes;
        if (context.Request.ContentLength > limit)
        {
            await RefuseAsync(context, limit);
            return;
        }

        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } feature)
        {
            // Kestrel's own cap as a backstop; it also bounds what the buffering below can read.
            feature.MaxRequestBodySize = limit;
        }

        if (context.Request.ContentLength is null && context.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody == true)
        {
            var buffered = await ReadWithinAsync(context.Request.Body, limit, context.RequestAborted);
            if (buffered is null)
            {
                await RefuseAsync(context, limit);
                return;
            }

            context.Request.Body = buffered;
            context.Response.RegisterForDispose(buffered);
        }

        await next(context);
    }

    /// <summary>The whole body in memory, or null when it is longer than <paramref name="limit"/>.</summary>
    private static async Task<MemoryStream?> ReadWithinAsync(Stream body, int limit, CancellationToken cancellationToken)
    {
        var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        try
        {
            int read;
            while ((read = await body.ReadAsync(chunk, cancellationToken)) > 0)
            {
                buffer.Write(chunk, 0, read);
                if (buffer.Length > limit)
                {
                    await buffer.DisposeAsync();
                    return null;
                }
            }
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            // Kestrel counts chunks as they arrive and stopped at its cap.
            await buffer.DisposeAsync();
            return null;
        }

        buffer.Position = 0;
        return buffer;
    }

    private Task RefuseAsync(HttpContext context, int limit) => problems.RefuseAsync(
        context, StatusCodes.Status413PayloadTooLarge, "Payload too large", $"The request body must be at most {limit} bytes.");
}
