using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;
using Notifications.Api.Hardening;
using Notifications.Domain;
using Notifications.Infrastructure.Data;

namespace Notifications.Api.Errors;

/// <summary>Maps exceptions to RFC 7807 ProblemDetails with a stable title; nothing leaks stack traces or payloads.</summary>
public sealed partial class ProblemExceptionHandler(IProblemDetailsService problems, ILogger<ProblemExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        var (status, title, detail) = exception switch
        {
            ForbiddenException e => (StatusCodes.Status403Forbidden, "Forbidden", e.Message),
            NotFoundException e => (StatusCodes.Status404NotFound, "Not found", e.Message),
            ConflictException e => (StatusCodes.Status409Conflict, "Conflict", e.Message),
            DomainException e => (StatusCodes.Status400BadRequest, "Invalid request", e.Message),
            BadHttpRequestException e => (e.StatusCode, e.StatusCode == StatusCodes.Status413PayloadTooLarge ? "Payload too large" : "Bad request", DescribeBadRequest(e)),
            UnauthorizedAccessException e => (StatusCodes.Status401Unauthorized, "Unauthorized", e.Message),
            OperationCanceledException when httpContext.RequestAborted.IsCancellationRequested => (499, "Client closed request", "The request was cancelled."),
            _ when StoreFailures.IsUnavailable(exception) => (StatusCodes.Status503ServiceUnavailable, "Store unavailable", "The notification store is unavailable; try again shortly."),
            _ => (StatusCodes.Status500InternalServerError, "Server error", "An unexpected error occurred."),
        };

        if (status >= 500)
        {
            logger.LogError(exception, "Request {Method} {Path} failed with {Status}", httpContext.Request.Method, httpContext.Request.Path, status);
        }

        if (status == StatusCodes.Status503ServiceUnavailable)
        {
            httpContext.Response.Headers.RetryAfter = "5";
        }

        httpContext.Response.StatusCode = status;
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            Exception = exception,
            ProblemDetails = new ProblemDetails { Status = status, Title = title, Detail = detail },
        });
    }

    private static string DescribeBadRequest(BadHttpRequestException exception)
    {
        // The JSON reader says where the body went wrong ("$.audience.users[0]"), which is worth showing; its own
        // message is not (it can quote the input), except for the service's own text rules.
        var json = exception.InnerException as System.Text.Json.JsonException;
        return json switch
        {
            RejectedTextException rule => $"{rule.Message} (at {rule.Path ?? "$"})",
            { Path: { } path, InnerException: InvalidOperationException reader } when IsNotUnicode(reader) =>
                $"The text at {path} is not Unicode: invalid UTF-8, or a lone surrogate (a \\uD800-\\uDFFF escape without its pair).",
            { Path: { } path } => $"The request body is not valid JSON for this endpoint at {path}.",
            _ when exception.StatusCode == StatusCodes.Status413PayloadTooLarge => "The request body is too large.",
            _ when IsMissingBody(exception) => MissingBody,
            _ when exception.StatusCode == StatusCodes.Status415UnsupportedMediaType => UnsupportedMediaType,
            _ when UnboundParameter().Match(exception.Message) is { Success: true } unbound =>
                $"The value given for '{unbound.Groups["name"].Value}' is not valid for it.",
            _ => exception.Message,
        };
    }

    public const string UnsupportedMediaType = "The request body must be JSON (Content-Type: application/json).";

    // The framework's text quotes the value it could not bind (Failed to bind parameter "long? before" from "..."),
    // which would echo the caller's input back: only the parameter's name is kept.
    [GeneratedRegex("""^Failed to bind parameter "[^"]* (?<name>[A-Za-z_][A-Za-z0-9_]*)" from """)]
    private static partial Regex UnboundParameter();

    // The JSON reader checks a string's UTF-8 and surrogate pairs only when a string is read from it, and then throws
    // what the serializer reports as the JSON being invalid, which it is not. Matched by its wording ("Cannot read
    // invalid UTF-16 JSON text as string", "Cannot transcode invalid UTF-8 JSON text ..."); other wording falls back.
    private static bool IsNotUnicode(InvalidOperationException reader) =>
        reader.Message.Contains("UTF-16 JSON text", StringComparison.Ordinal) || reader.Message.Contains("UTF-8 JSON text", StringComparison.Ordinal);

    public const string MissingBody = "This endpoint needs a JSON object as its request body.";

    // An empty body and a body of JSON null both land here; the framework's own text speaks to the server's developer
    // ("Implicit body inferred for parameter ... Did you mean to use a Service instead?"), not to the caller. Matched
    // by its wording, so a framework that words it differently only falls back to its own message.
    private static bool IsMissingBody(BadHttpRequestException exception) =>
        exception.InnerException is null
        && (exception.Message.Contains("no body was provided", StringComparison.Ordinal)
            || exception.Message.Contains("was not provided from body", StringComparison.Ordinal));
}
